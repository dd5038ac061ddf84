import { type AgentProfile, type MediaFile, mediaKindOf, type TurnMedia } from "@switchboard/core";
import { readHomeFile } from "./tools/media.ts";
import { ToolError } from "./tools/types.ts";

/** `![alt](target "title")` with a target that is no URL scheme (`http:`, `data:`…), or a `file:` URL. */
const IMAGE_LINK = /!\[([^\]\n]*)\]\(\s*<?((?:file:\/\/)?[^)\s>]+)>?(?:\s+"[^"\n]*")?\s*\)/g;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Images the reply links to inside the agent's home (`![chart](reports/chart.png)`) are attached to the
 * reply (uploaded after its text) and their links removed from the text. Links to the web, to files
 * outside the home (or through a symlink out of it) or to missing files are left as written.
 */
export async function attachReplyImages(
  text: string,
  agent: AgentProfile,
  media: TurnMedia,
  onSkip?: (target: string, why: string) => void,
): Promise<string> {
  const found: Array<{ match: string; file: MediaFile; alt: string }> = [];
  for (const m of text.matchAll(IMAGE_LINK)) {
    let target = m[2]!;
    if (target.startsWith("file://")) target = decodeURIComponent(target.slice("file://".length));
    else if (SCHEME.test(target)) continue;
    try {
      const file = await readHomeFile(agent, target, media.maxBytes);
      if (mediaKindOf(file.mimeType) !== "image") continue;
      found.push({ match: m[0], file, alt: m[1]!.trim() });
    } catch (err) {
      onSkip?.(target, err instanceof ToolError ? err.message : String(err));
    }
  }
  if (found.length === 0) return text;
  let out = text;
  for (const f of found) {
    try {
      media.attach({ ...f.file, kind: "image", ...(f.alt ? { caption: f.alt } : {}) });
      out = out.replace(f.match, "");
    } catch (err) {
      onSkip?.(f.file.name, (err as Error).message);
    }
  }
  return out
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
