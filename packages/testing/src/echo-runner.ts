import type { AgentEvent, AgentRunner, AgentTurn, OutboundMedia } from "@switchboard/core";

/** A 1×1 transparent PNG: the image the test kit sends and serves. */
export const TINY_PNG = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
    "base64",
  ),
);

/** The file `[[upload:NAME]]` sends: the tiny PNG for `.png`, else a line of text naming it. */
export function uploadFixture(name: string): OutboundMedia {
  if (name.endsWith(".png")) return { kind: "image", name, mimeType: "image/png", data: TINY_PNG };
  return {
    kind: "file",
    name,
    mimeType: "text/plain",
    data: new TextEncoder().encode(`conformance file ${name}\n`),
  };
}

function lastUserText(turn: AgentTurn): string {
  const m = [...turn.input].reverse().find((x) => x.role === "user");
  if (!m) return "";
  return typeof m.content === "string"
    ? m.content
    : m.content.map((p) => (p.type === "text" ? p.text : "")).join(" ");
}

/** A long Markdown reply with paragraphs and fenced code, at least `n` characters long (for chunking tests). */
export function longReply(n: number): string {
  const parts: string[] = [];
  let len = 0;
  let i = 0;
  while (len < n) {
    const block =
      i % 3 === 2
        ? `\`\`\`ts\n${Array.from({ length: 12 }, (_, k) => `const line${i}_${k} = ${k} * ${i}; // code`).join("\n")}\n\`\`\``
        : `Paragraph ${i}. ${"This is a sentence of the long reply. ".repeat(6).trim()}`;
    parts.push(block);
    len += block.length + 2;
    i++;
  }
  // Whole blocks only, so the reply itself never ends inside a code fence.
  return parts.join("\n\n");
}

/**
 * A deterministic offline runner for the test kit, answering like the `echo` provider: `[<agent>] <input>`,
 * word by word. `[[long:N]]` answers N characters of Markdown with code fences; `[[sleep:MS]]` waits first;
 * `[[silent]]` answers `[SILENT]`; `[[fail]]` ends with an error event; `[[upload:NAME]]` sends
 * `uploadFixture(NAME)` into the chat through `services.media` first.
 */
export function createEchoRunner(): AgentRunner {
  return {
    async *run(turn: AgentTurn): AsyncIterable<AgentEvent> {
      const input = lastUserText(turn);
      const sleep = /\[\[sleep:(\d+)\]\]/.exec(input);
      if (sleep) {
        const ms = Number(sleep[1]);
        const aborted = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), ms);
          turn.signal.addEventListener(
            "abort",
            () => {
              clearTimeout(t);
              resolve(true);
            },
            { once: true },
          );
        });
        if (aborted) {
          yield { type: "error", message: "The turn was stopped.", code: "aborted" };
          return;
        }
      }
      if (input.includes("[[fail]]")) {
        yield { type: "error", message: "the model failed (scripted by [[fail]])", code: "scripted_failure" };
        return;
      }
      for (const m of input.matchAll(/\[\[upload:([^\]\s]+)\]\]/g)) {
        const media = turn.services?.media;
        if (!media) {
          yield { type: "error", message: "no chat to upload to", code: "no_chat" };
          return;
        }
        await media.send(uploadFixture(m[1]!));
      }
      const long = /\[\[long:(\d+)\]\]/.exec(input);
      const text = input.includes("[[silent]]")
        ? "[SILENT]"
        : long
          ? longReply(Number(long[1]))
          : `[${turn.agent.id}] ${input}`;
      const words = text.split(/(?<=\s)/);
      for (const w of words) {
        if (turn.signal.aborted) {
          yield { type: "error", message: "The turn was stopped.", code: "aborted" };
          return;
        }
        yield { type: "text-delta", text: w };
      }
      yield {
        type: "finish",
        text,
        usage: { inputTokens: input.split(/\s+/).length, outputTokens: words.length },
      };
    },
  };
}
