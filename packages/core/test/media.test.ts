import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTranscriber,
  createTurnMedia,
  type InboundMedia,
  MediaError,
  type MediaFile,
  mediaContent,
  type OutboundMedia,
  readMediaResponse,
} from "../src/index.ts";

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

/** A platform file server on loopback: `/png`, `/csv`, `/big` (chunked, 5 MB), `/bin`, `/404`. */
let server: Server;
let base = "";
let bigBytesSent = 0;
const transcripts: Array<{ model: string; file: string; auth: string | undefined }> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": PNG.byteLength });
      res.end(PNG);
    } else if (req.url === "/csv") {
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
      res.end("a,b\n1,2\n");
    } else if (req.url === "/bin") {
      res.writeHead(200, { "content-type": "application/pdf" });
      res.end(Buffer.from("%PDF-1.4 binary"));
    } else if (req.url === "/big") {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let left = 80;
      const pump = () => {
        while (left > 0) {
          left--;
          bigBytesSent += chunk.byteLength;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => {
        left = 0;
      });
      pump();
    } else if (req.url === "/v1/audio/transcriptions" && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("latin1");
        const model = /name="model"\r\n\r\n([^\r]*)/.exec(body)?.[1] ?? "";
        const file = /name="file"; filename="([^"]*)"/.exec(body)?.[1] ?? "";
        transcripts.push({ model, file, auth: req.headers.authorization });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ text: " what is the weather " }));
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** What an adapter's downloadMedia does: fetch the platform's file under the cap. */
const download = async (m: InboundMedia, o: { maxBytes: number }): Promise<MediaFile> =>
  readMediaResponse(await fetch(`${base}${m.ref}`), { maxBytes: o.maxBytes, name: m.name ?? "file" });

const opts = { download, vision: true, maxBytes: 1024 * 1024, maxTextChars: 1000 };

describe("readMediaResponse", () => {
  it("refuses a file past the cap while streaming, without reading the rest", async () => {
    bigBytesSent = 0;
    const err = await readMediaResponse(await fetch(`${base}/big`), {
      maxBytes: 256 * 1024,
      name: "x",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).code).toBe("media_too_large");
    await new Promise((r) => setTimeout(r, 100));
    expect(bigBytesSent).toBeLessThan(80 * 64 * 1024);
  });

  it("refuses on the declared length before reading", async () => {
    const err = await readMediaResponse(await fetch(`${base}/png`), { maxBytes: 4, name: "p.png" }).catch(
      (e: unknown) => e,
    );
    expect((err as MediaError).code).toBe("media_too_large");
  });

  it("a platform error status is a download failure", async () => {
    const err = await readMediaResponse(await fetch(`${base}/404`), { maxBytes: 100, name: "x" }).catch(
      (e: unknown) => e,
    );
    expect((err as MediaError).code).toBe("media_download_failed");
  });
});

describe("mediaContent", () => {
  it("gives a vision model the image as a data URL next to the caption", async () => {
    const out = await mediaContent("look", [{ kind: "image", ref: "/png", name: "photo.png" }], opts);
    expect(Array.isArray(out.content)).toBe(true);
    const parts = out.content as Array<{ type: string; text?: string; url?: string }>;
    expect(parts[0]).toEqual({ type: "text", text: "look" });
    expect(parts[1]!.url).toBe(`data:image/png;base64,${Buffer.from(PNG).toString("base64")}`);
    expect(out.storedText).toBe("look\n\n[image: photo.png]");
  });

  it("tells a model without vision that an image came, instead of an empty message", async () => {
    const out = await mediaContent("", [{ kind: "image", ref: "/png" }], { ...opts, vision: false });
    expect(typeof out.content).toBe("string");
    expect(out.content).toMatch(/sent an image, but this model cannot see images/);
  });

  it("reads a text document as text, capped", async () => {
    const out = await mediaContent("", [{ kind: "file", ref: "/csv", name: "data.csv" }], opts);
    expect(out.content).toBe('[The user attached the document "data.csv":]\na,b\n1,2\n');
    const cut = await mediaContent("", [{ kind: "file", ref: "/csv", name: "data.csv" }], {
      ...opts,
      maxTextChars: 3,
    });
    expect(cut.content).toMatch(/a,b\n\[… cut: the document has 8 characters/);
  });

  it("names other files in a note", async () => {
    const out = await mediaContent("see attached", [{ kind: "file", ref: "/bin", name: "report.pdf" }], opts);
    expect(out.content).toMatch(
      /^see attached\n\n\[The user attached the file "report.pdf" \(application\/pdf, 15 B\)/,
    );
  });

  it("notes a file over the cap (declared or found while downloading) and a failed download", async () => {
    const errors: unknown[] = [];
    const out = await mediaContent(
      "",
      [
        { kind: "file", ref: "/big", name: "huge.bin" },
        { kind: "file", ref: "/bin", name: "said.pdf", size: 5_000_000 },
        { kind: "image", ref: "/404", name: "gone.jpg" },
      ],
      { ...opts, maxBytes: 100_000, onError: (_m, e) => errors.push(e) },
    );
    expect(out.content).toContain('"huge.bin", but it could not be read: it is over the 98 KB limit');
    expect(out.content).toContain('"said.pdf" of 4.8 MB, over the 98 KB limit');
    expect(out.content).toContain('"gone.jpg", but it could not be read: the download failed');
    expect(errors).toHaveLength(2);
  });

  it("transcribes a voice note into the user's text when transcription is on", async () => {
    transcripts.length = 0;
    const transcribe = createTranscriber({
      baseUrl: `${base}/v1`,
      apiKey: "sk-t",
      model: "whisper-x",
      timeoutMs: 5000,
    });
    const voice: InboundMedia = {
      kind: "audio",
      voice: true,
      ref: "/bin",
      name: "voice.ogg",
      mimeType: "audio/ogg",
    };
    const out = await mediaContent("", [voice], { ...opts, transcribe });
    expect(out.content).toBe("what is the weather");
    expect(out.storedText).toBe("what is the weather");
    expect(transcripts).toEqual([{ model: "whisper-x", file: "voice.ogg", auth: "Bearer sk-t" }]);
    const off = await mediaContent("", [voice], opts);
    expect(off.content).toMatch(/voice note "voice.ogg"; voice transcription is off/);
  });

  it("says when the adapter cannot download", async () => {
    const out = await mediaContent("hi", [{ kind: "file", name: "a.txt" }], { ...opts, download: undefined });
    expect(out.content).toMatch(
      /^hi\n\n\[The user sent a file "a.txt", which this chat platform's adapter cannot download/,
    );
  });
});

describe("createTurnMedia", () => {
  it("sends now, attaches for later, and refuses a file over the chat's limit", async () => {
    const delivered: string[] = [];
    const media = createTurnMedia({
      maxBytes: 10,
      deliver: async (f: OutboundMedia) => {
        delivered.push(f.name);
        return { messageId: String(delivered.length) };
      },
    });
    const file = (name: string, n: number): OutboundMedia => ({
      kind: "file",
      name,
      mimeType: "text/plain",
      data: new Uint8Array(n),
    });
    expect(await media.send(file("a.txt", 3))).toEqual({ messageId: "1" });
    media.attach(file("b.png", 4));
    expect(() => media.attach(file("big.bin", 11))).toThrow(
      /big.bin is 11 B; this chat takes files up to 10 B/,
    );
    await expect(media.send(file("big.bin", 11))).rejects.toThrow(MediaError);
    expect(delivered).toEqual(["a.txt"]);
    await media.flush();
    expect(delivered).toEqual(["a.txt", "b.png"]);
    expect(media.pending).toHaveLength(0);
  });
});
