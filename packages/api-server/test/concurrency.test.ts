import { createAgentRunner } from "@switchboard/agent";
import { type AgentEvent, type AgentRunner, type AgentTurn, currentAgent } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startApi, type TestApi } from "./helpers.ts";

const AGENTS = Array.from({ length: 10 }, (_, i) => `agent-${i}`);

/**
 * Answers from the ambient agent scope, not from `turn.agent`, after a random pause: a reply naming the
 * wrong agent would mean scopes leaked between concurrent turns.
 */
const scopeRunner: AgentRunner = {
  async *run(turn: AgentTurn): AsyncIterable<AgentEvent> {
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    const input = turn.input.map((m) => (typeof m.content === "string" ? m.content : "")).join(" ");
    const history = turn.history.map((m) => (typeof m.content === "string" ? m.content : "")).join("|");
    const words = `[${currentAgent()?.id}] ${input} history=${history || "none"}`.split(/(?<= )/);
    for (const w of words) {
      await new Promise((r) => setImmediate(r));
      yield { type: "text-delta", text: w };
    }
    yield { type: "finish", text: words.join(""), usage: { inputTokens: 1, outputTokens: words.length } };
  },
};

const RUNNERS: Array<[string, () => AgentRunner, (agent: string, token: string) => string]> = [
  [
    "a runner answering from the ambient agent scope",
    () => scopeRunner,
    (a, t) => `[${a}] ${t} history=none`,
  ],
  ["the agent runtime's echo provider", () => createAgentRunner(), (a, t) => `[${a}] ${t}`],
];

describe.each(RUNNERS)("concurrency with %s", (_name, makeRunner, expected) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(
      {
        agents: Object.fromEntries(AGENTS.map((a) => [a, {}])),
        api_server: { keys: [{ key: KEYS.admin, agents: "*" }] },
      },
      { runner: makeRunner() },
    );
  });
  afterAll(async () => {
    await api.close();
  });

  it("answers 300 concurrent requests over 10 agents with zero cross-talk", async () => {
    const client = api.client({ key: KEYS.admin });
    const jobs = Array.from({ length: 300 }, async (_, i) => {
      const agent = AGENTS[i % AGENTS.length]!;
      const token = `token-${i}`;
      // Every request continues its own session; the same session id is reused across agents on purpose.
      const headers = { "X-Switchboard-Session-Id": `s-${Math.floor(i / AGENTS.length)}` };
      if (i % 3 === 0) {
        const stream = await client.chat.completions.create(
          { model: agent, stream: true, messages: [{ role: "user", content: token }] },
          { headers },
        );
        let text = "";
        for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
        return { agent, token, text, session: undefined as string | null | undefined };
      }
      if (i % 3 === 1) {
        const { data, response } = await client.chat.completions
          .create({ model: agent, messages: [{ role: "user", content: token }] }, { headers })
          .withResponse();
        expect(response.headers.get("x-switchboard-agent")).toBe(agent);
        return {
          agent,
          token,
          text: data.choices[0]?.message.content ?? "",
          session: response.headers.get("x-switchboard-session-id"),
        };
      }
      const r = await client.responses.create({ model: agent, input: token }, { headers });
      return { agent, token, text: r.output_text, session: undefined };
    });
    const results = await Promise.all(jobs);
    for (const r of results) {
      expect(r.text).toBe(expected(r.agent, r.token));
    }
    // 300 (agent, session id) pairs → 300 distinct stored sessions, each holding only its own exchange.
    await api.gateway.idle();
    const sessions = await api.store.list({ limit: 1000 });
    expect(sessions).toHaveLength(300);
    for (const s of sessions) {
      const messages = await api.store.history(s.id);
      expect(messages).toHaveLength(2);
      expect(messages[1]!.content).toBe(expected(s.agentId, messages[0]!.content));
    }
  });
});
