import { streamText, tool, stepCountIs } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { z } from "zod";
import { startStubLlm } from "@switchboard/testing";

const stub = await startStubLlm();
const p = createOpenAICompatible({ name: "local", baseURL: stub.url, includeUsage: true });
async function run(label: string, opts: any = {}) {
  const ac = new AbortController();
  const r = streamText({
    model: p.chatModel("m"),
    instructions: "sys",
    messages: [{ role: "user", content: "hello there" }],
    tools: { add: tool({ description: "add", inputSchema: z.object({ a: z.number() }), execute: async ({ a }) => { if (a < 0) throw new Error("neg"); return { sum: a + 1 }; } }) },
    stopWhen: stepCountIs(4),
    maxRetries: opts.maxRetries ?? 0,
    abortSignal: ac.signal,
    onError: () => {},
    ...(opts.timeout ? { timeout: opts.timeout } : {}),
  });
  const t0 = Date.now();
  const parts: string[] = [];
  try {
    for await (const part of r.stream) {
      if (part.type === "text-delta") parts.push(`td:${JSON.stringify(part.text)}`);
      else if (part.type === "error") parts.push(`ERR:${(part.error as any)?.constructor?.name}:${(part.error as any)?.message}:${(part.error as any)?.statusCode}`);
      else if (part.type === "finish") parts.push(`finish:${part.finishReason}:${JSON.stringify(part.totalUsage)}`);
      else if (part.type === "tool-call") parts.push(`tc:${part.toolName}:${JSON.stringify(part.input)}`);
      else if (part.type === "tool-result") parts.push(`tr:${JSON.stringify(part.output)}`);
      else if (part.type === "tool-error") parts.push(`te:${String(part.error)}`);
      else if (part.type === "abort") parts.push(`abort:${part.reason}`);
      else parts.push(part.type);
      if (opts.abortAfter && parts.filter(x => x.startsWith("td")).length === opts.abortAfter) ac.abort();
    }
  } catch (e: any) { parts.push(`THROW:${e?.constructor?.name}:${e?.message}`); }
  console.log(label, Date.now() - t0, "ms", parts.join(" | "));
}
await run("plain");
stub.script({ toolCalls: [{ name: "add", arguments: { a: 2 } }] }, { text: "the sum is 3" });
await run("tool");
stub.script({ toolCalls: [{ name: "add", arguments: { a: -2 } }] }, { text: "failed" });
await run("toolerr");
stub.failNext(500, 1);
await run("500");
stub.failNext(401, 1);
await run("401");
stub.failNext(429, 1, { retryAfter: 0.05 });
await run("429retry", { maxRetries: 2 });
stub.script({ malformed: true });
await run("malformed");
stub.setLatency(50);
stub.script({ text: "one two three four five six seven eight nine ten" });
await run("abort", { abortAfter: 2 });
await new Promise(r => setTimeout(r, 100));
console.log("aborted streams", stub.abortedStreams(), "active", stub.activeStreams());
stub.setLatency(0);
stub.script({ text: "x", delayMs: 3000 });
await run("timeout", { timeout: { totalMs: 300 } });
stub.script({ text: "slow words", stall: true });
await run("stall", { timeout: { firstChunkMs: 300, chunkMs: 300 } });
await new Promise(r => setTimeout(r, 100));
console.log("aborted streams", stub.abortedStreams(), "active", stub.activeStreams());
console.log(JSON.stringify(stub.requests[1].messages), JSON.stringify(stub.requests[2]).slice(0, 600));
await stub.close();
