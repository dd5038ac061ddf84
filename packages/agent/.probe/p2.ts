import { startStubLlm } from "@switchboard/testing";
import { loadConfig } from "@switchboard/core";
import { createAgentRunner } from "../src/index.ts";
const stub = await startStubLlm();
const c = await loadConfig({ home: "/tmp/xx-probe", text: `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\nmodel: { provider: local, name: m }\nagents:\n  main: {}\n`, env: {} });
const agent = c.registry.get("main")!;
const turn = { agent, sessionId: "s", sessionKey: "k", source: { platform: "t", chatType: "dm" as const }, history: [], input: [{ role: "user" as const, content: [{ type: "text" as const, text: "look" }, { type: "image" as const, url: "https://example.com/cat.png" }] }], signal: new AbortController().signal };
for await (const e of createAgentRunner({ maxRetries: 0 }).run(turn)) console.log(JSON.stringify(e));
await stub.close();
