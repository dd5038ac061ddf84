import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type StubLlm, startStubLlm } from "../src/stub-llm.ts";

let stub: StubLlm;
beforeEach(async () => {
  stub = await startStubLlm();
});
afterEach(() => stub.close());

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stub.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body. */
async function sse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((b) => b.startsWith("data: "))
    .map((b) => b.slice(6));
}

describe("stub LLM server", () => {
  it("lists a model and answers JSON with `stub: <last user text>` by default", async () => {
    const models = (await (await fetch(`${stub.url}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(["stub-model"]);
    const res = await post(
      { model: "m", messages: [{ role: "user", content: "hi there" }] },
      { authorization: "Bearer k" },
    );
    const body = (await res.json()) as {
      choices: Array<{ message: { content: string } }>;
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]!.message.content).toBe("stub: hi there");
    expect(body.usage.completion_tokens).toBe(3);
    expect(stub.requests).toEqual([{ model: "m", messages: [{ role: "user", content: "hi there" }] }]);
    expect(stub.requestHeaders[0]!.authorization).toBe("Bearer k");
  });

  it("streams scripted text in several chunks, then tool calls, a usage chunk and [DONE]", async () => {
    stub.script({ text: "one two three", toolCalls: [{ id: "c1", name: "lookup", arguments: { q: "x" } }] });
    const data = await sse(await post({ stream: true, messages: [{ role: "user", content: "go" }] }));
    expect(data.at(-1)).toBe("[DONE]");
    const chunks = data.slice(0, -1).map(
      (d) =>
        JSON.parse(d) as {
          choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>;
          usage?: unknown;
        },
    );
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("one two three");
    const args = chunks.flatMap(
      (c) =>
        (c.choices[0]?.delta.tool_calls as Array<{ function: { arguments?: string } }> | undefined) ?? [],
    );
    expect(args.map((a) => a.function.arguments ?? "").join("")).toBe('{"q":"x"}');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
  });

  it("streams slowly with chunkDelayMs: one word per delay", async () => {
    stub.script({ text: "one two three four five", chunkDelayMs: 60 });
    const started = Date.now();
    const res = await post({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] });
    const arrivals: number[] = [];
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const piece = decoder.decode(value);
      body += piece;
      if (piece.includes('"content":"') && !piece.includes('"content":""')) arrivals.push(Date.now());
    }
    expect(body).toContain("five");
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 60 - 10);
  });

  it("fails the next requests with the given status and retry-after, then recovers", async () => {
    stub.failNext(429, 2, { retryAfter: 1 });
    for (let i = 0; i < 2; i++) {
      const res = await post({ messages: [{ role: "user", content: "x" }] });
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    }
    expect((await post({ messages: [{ role: "user", content: "x" }] })).status).toBe(200);
  });

  it("sends a malformed stream when scripted to", async () => {
    stub.script({ malformed: true });
    const data = await sse(await post({ stream: true, messages: [] }));
    expect(() => data.map((d) => JSON.parse(d))).toThrow();
    expect(data).not.toContain("[DONE]");
  });

  it("counts a stream the client leaves as aborted", async () => {
    stub.setLatency(30);
    stub.script({ text: "a b c d e f g h i j" });
    const controller = new AbortController();
    const res = await fetch(`${stub.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ stream: true, messages: [] }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(stub.activeStreams()).toBe(1);
    controller.abort();
    await stub.waitFor(() => stub.abortedStreams() === 1 && stub.activeStreams() === 0);
  });
});
