import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { basename, relative, sep } from "node:path";
import {
  type AgentProfile,
  formatBytes,
  MediaError,
  type MediaFile,
  mediaKindOf,
  mimeTypeOf,
} from "@switchboard/core";
import { z } from "zod";
import { agentDirs, resolveInside } from "./paths.ts";
import { type AgentTool, defineTool, ToolError } from "./types.ts";

/**
 * A file of the agent's home, read for upload: `path` is relative to the home (or absolute inside it), and
 * is refused when it escapes the home lexically or through a symlink (the `paths.ts` guard); the last
 * component is opened without following a symlink, so a link swapped in after the check is refused too.
 */
export async function readHomeFile(agent: AgentProfile, path: string, maxBytes: number): Promise<MediaFile> {
  if (!path.trim() || path.includes("\0")) throw new ToolError("path is empty", "invalid_input");
  const { home } = agentDirs(agent);
  const target = await resolveInside(agent, home, [path]);
  refuseSecrets(agent, home, target, path);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new ToolError(`no file ${JSON.stringify(path)} in the agent's home`, "not_found");
    if (code === "ELOOP")
      throw new ToolError(`${JSON.stringify(path)} is a symlink and is refused`, "path_escape");
    throw new ToolError(`${JSON.stringify(path)} cannot be read (${code ?? "error"})`, "unreadable", {
      cause: err,
    });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ToolError(`${JSON.stringify(path)} is not a file`, "not_a_file");
    if (st.size > maxBytes) {
      throw new ToolError(
        `${basename(target)} is ${formatBytes(st.size)}; this chat takes files up to ${formatBytes(maxBytes)}`,
        "too_large",
      );
    }
    const data = new Uint8Array(await handle.readFile());
    const name = basename(target);
    return { data, mimeType: mimeTypeOf(name), name };
  } finally {
    await handle.close();
  }
}

/** Files of the root home that are the gateway's, not the agent's: config, the store, the logs. */
const ROOT_FILES = new Set(["config.yaml", "config.yml", "state.db", "state.db-wal", "state.db-shm", "logs"]);

/**
 * Secrets never leave through a chat: hidden files and directories (`.env` with the agent's keys, `.git`,
 * `.ssh`), and in the root home (main's) the gateway's own config, store and logs.
 */
function refuseSecrets(agent: AgentProfile, home: string, target: string, asked: string): void {
  const parts = relative(home, target).split(sep);
  const hidden = parts.some((p) => p.startsWith("."));
  const gateway = home === agent.rootHome && ROOT_FILES.has(parts[0] ?? "");
  if (hidden || gateway) {
    throw new ToolError(
      `${JSON.stringify(asked)} is ${hidden ? "a hidden file (secrets live there)" : "the gateway's own file"} and is never sent`,
      "path_refused",
    );
  }
}

const sendFile = defineTool({
  name: "send_file",
  description:
    "Send a file from your home directory into this chat (an image shows inline, anything else as a document). `path` is relative to your home, e.g. `reports/chart.png`.",
  inputSchema: z.strictObject({
    path: z.string().min(1).describe("The file, relative to your home directory."),
    caption: z.string().max(1024).optional().describe("A short text shown with the file."),
  }),
  async execute(input, ctx) {
    const media = ctx.turn.services?.media;
    if (!media) throw new ToolError("send_file works only in a chat conversation", "no_chat");
    const file = await readHomeFile(ctx.agent, input.path, media.maxBytes);
    try {
      const sent = await media.send({
        ...file,
        kind: mediaKindOf(file.mimeType),
        ...(input.caption ? { caption: input.caption } : {}),
      });
      return { sent: file.name, bytes: file.data.byteLength, messageId: sent.messageId };
    } catch (err) {
      if (err instanceof MediaError) throw new ToolError(err.message, err.code, { cause: err });
      throw new ToolError(`the chat did not take ${file.name}: ${(err as Error).message}`, "send_failed", {
        cause: err,
      });
    }
  },
});

/** The `media` toolset: offered only in chat turns (where the gateway supplies `services.media`). */
export const MEDIA_TOOLS: AgentTool[] = [sendFile];
