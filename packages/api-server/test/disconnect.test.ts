import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, recordingRunner, startApi, type TestApi } from "./helpers.ts";

const runner = recordingRunner();

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("client disconnect", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(
      { agents: { main: {} }, api_server: { keys: [{ key: KEYS.admin, agents: "*" }] } },
      { runner },
    );
  });
  afterAll(async () => {
    await api.close();
  });

  const turnFor = (text: string) => runner.turns.find((t) => t.input.some((m) => m.content === text));

  it("aborts the agent turn when a streaming client goes away", async () => {
    const client = api.client({ key: KEYS.admin });
    const input = "[[sleep:10000]] stream";
    const stream = await client.chat.completions.create({
      model: "main",
      stream: true,
      messages: [{ role: "user", content: input }],
    });
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta.role).toBe("assistant");
      break; // leaving the loop aborts the HTTP request
    }
    await waitFor(() => turnFor(input)?.signal.aborted === true);
  });

  it("aborts the agent turn when a non-streaming client goes away", async () => {
    const input = "[[sleep:10000]] json";
    const controller = new AbortController();
    const pending = api
      .client({ key: KEYS.admin })
      .chat.completions.create(
        { model: "main", messages: [{ role: "user", content: input }] },
        { signal: controller.signal },
      );
    await waitFor(() => turnFor(input) !== undefined);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => turnFor(input)?.signal.aborted === true);
  });

  it("aborts a streaming response turn when the client goes away", async () => {
    const input = "[[sleep:10000]] responses";
    const stream = await api
      .client({ key: KEYS.admin })
      .responses.create({ model: "main", input, stream: true });
    for await (const e of stream) {
      expect(e.type).toBe("response.created");
      break;
    }
    await waitFor(() => turnFor(input)?.signal.aborted === true);
  });
});
