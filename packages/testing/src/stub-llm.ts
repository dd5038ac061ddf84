import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A tool call the stub model makes; `arguments` is sent as JSON text (a string is sent verbatim). */
export interface StubToolCall {
  id?: string;
  name: string;
  arguments?: unknown;
}

/** One scripted answer to one `POST /v1/chat/completions`. */
export type StubResponse =
  | {
      /** The reply text (streamed in several chunks, one per word). */
      text?: string;
      /** A JSON answer (structured output): sent as the reply text, serialized. */
      json?: unknown;
      toolCalls?: StubToolCall[];
      usage?: { promptTokens?: number; completionTokens?: number };
      /** Wait this long before sending the response headers (for timeout tests). */
      delayMs?: number;
      /**
       * Send the first word of `text`, then keep the stream open without sending more (for idle-timeout tests);
       * a JSON (non-streaming) answer sends nothing at all until the client leaves.
       */
      stall?: boolean;
      /** Wait this long before each word of the streamed text (a model writing slowly; streaming-edit tests). */
      chunkDelayMs?: number;
    }
  | { status: number; message?: string; headers?: Record<string, string> }
  /** A stream that starts well, then sends a chunk that is not JSON and ends without `[DONE]`. */
  | { malformed: true }
  /** HTTP 200 whose body is not JSON at all (a proxy's HTML page), whatever `stream` asked for. */
  | { invalidJson: true; body?: string; contentType?: string }
  /** Decide from the request body. */
  | ((body: StubChatRequest) => StubResponse);

/** A transcription request as received. */
export interface StubTranscription {
  model: string;
  fileName: string;
  bytes: number;
  authorization?: string;
}

/** The body of a chat completions request, as received. */
export interface StubChatRequest {
  model?: string;
  stream?: boolean;
  messages: Array<{
    role: string;
    content?: unknown;
    tool_calls?: unknown;
    tool_call_id?: string;
    name?: string;
  }>;
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  [key: string]: unknown;
}

export interface StubLlmOptions {
  /** Delay before each streamed chunk, in ms; a JSON answer waits as long as its stream would. Default 0. */
  latencyMs?: number;
  /** The model id `/v1/models` lists. Default `stub-model`. */
  model?: string;
}

export interface StubLlm {
  /** Base URL, ending in `/v1`. */
  readonly url: string;
  /** Every chat completions request body, in arrival order. */
  readonly requests: StubChatRequest[];
  /** Every `POST /v1/audio/transcriptions` (multipart), in arrival order: the form's model, file and key. */
  readonly transcriptions: StubTranscription[];
  /** The text the next transcriptions answer (default `stub transcript of <file name>`). */
  transcribeAs(text: string): void;
  /** The headers of each request in `requests` (same index), lower-cased names. */
  readonly requestHeaders: Array<Record<string, string>>;
  /** Queue answers for the next requests, in order; unscripted requests reply `stub: <last user text>`. */
  script(...responses: StubResponse[]): void;
  /** Change the per-chunk latency. */
  setLatency(ms: number): void;
  /** The next `count` requests fail with `status` (an OpenAI-shaped error body), before any scripted answer is used. */
  failNext(status: number, count: number, options?: { retryAfter?: number }): void;
  /** Responses currently open: streams, and JSON answers still being generated. */
  activeStreams(): number;
  /** Responses (streams, JSON answers) whose client disconnected before they ended. */
  abortedStreams(): number;
  /** Resolve once `predicate` holds, polling; reject after `timeoutMs` (default 5 s). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface Failure {
  status: number;
  retryAfter?: number;
}

/** Start an OpenAI-compatible chat completions server on 127.0.0.1 (a random port). */
export async function startStubLlm(options: StubLlmOptions = {}): Promise<StubLlm> {
  const requests: StubChatRequest[] = [];
  const transcriptions: StubTranscription[] = [];
  let transcript: string | undefined;
  const requestHeaders: Array<Record<string, string>> = [];
  const queue: StubResponse[] = [];
  const failures: Failure[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = options.latencyMs ?? 0;
  let active = 0;
  let aborted = 0;
  let counter = 0;
  const modelId = options.model ?? "stub-model";

  // A timer that dies with the server, so `close()` leaves nothing pending.
  const sleep = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || res.destroyed) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        res.off("close", onClose);
        resolve();
      }, ms);
      const onClose = () => {
        clearTimeout(t);
        timers.delete(t);
        resolve();
      };
      timers.add(t);
      res.once("close", onClose);
    });

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: "server_error" } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: [{ id: modelId, object: "model", created: 0, owned_by: "stub" }],
      });
      return;
    }
    if (req.method === "POST" && path === "/v1/audio/transcriptions") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = await new Request("http://stub/", {
        method: "POST",
        headers: { "content-type": String(req.headers["content-type"] ?? "") },
        body: Buffer.concat(chunks),
      }).formData();
      const file = form.get("file");
      if (!(file instanceof File)) {
        sendJson(res, 400, { error: { message: "no file", type: "invalid_request_error" } });
        return;
      }
      transcriptions.push({
        model: String(form.get("model") ?? ""),
        fileName: file.name,
        bytes: file.size,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      sendJson(res, 200, { text: transcript ?? `stub transcript of ${file.name}` });
      return;
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      sendJson(res, 404, {
        error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error" },
      });
      return;
    }
    const raw = await readBody(req);
    let body: StubChatRequest;
    try {
      body = JSON.parse(raw) as StubChatRequest;
    } catch {
      sendJson(res, 400, { error: { message: "body is not JSON", type: "invalid_request_error" } });
      return;
    }
    requests.push(body);
    requestHeaders.push(flatHeaders(req));

    const failure = failures.shift();
    if (failure) {
      const headers: Record<string, string> = {};
      if (failure.retryAfter !== undefined) headers["retry-after"] = String(failure.retryAfter);
      sendError(res, failure.status, `stub failure ${failure.status}`, headers);
      return;
    }

    const scripted = queue.shift() ?? { text: `stub: ${lastUserText(body)}` };
    const answer = resolveAnswer(scripted, body);
    if ("status" in answer) {
      sendError(res, answer.status, answer.message ?? `stub error ${answer.status}`, answer.headers ?? {});
      return;
    }
    const id = `chatcmpl-stub-${++counter}`;
    if ("malformed" in answer) {
      await streamMalformed(res, id);
      return;
    }
    if ("invalidJson" in answer) {
      res.writeHead(200, { "content-type": answer.contentType ?? "application/json" });
      res.end(answer.body ?? "<html><body>502 Bad Gateway</body></html>");
      return;
    }
    if (answer.delayMs) await sleep(answer.delayMs, res);
    if (res.destroyed) return;
    const toolCalls = (answer.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${counter}_${i}`,
      type: "function" as const,
      function: {
        name: c.name,
        arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {}),
      },
    }));
    const text =
      answer.text ??
      (answer.json !== undefined
        ? JSON.stringify(answer.json)
        : toolCalls.length > 0
          ? ""
          : `stub: ${lastUserText(body)}`);
    const usage = {
      prompt_tokens: answer.usage?.promptTokens ?? countWords(JSON.stringify(body.messages)),
      completion_tokens: answer.usage?.completionTokens ?? countWords(text),
    };
    const finishReason = toolCalls.length > 0 ? "tool_calls" : "stop";

    if (!body.stream) {
      // A model "generates" a JSON answer as long as it would stream it (one latency per chunk), counted
      // as open meanwhile, and as aborted when the client leaves first; a stalled one never finishes.
      active++;
      let done = false;
      res.once("close", () => {
        active--;
        if (!done) aborted++;
      });
      if (answer.stall) await new Promise<void>((resolve) => res.once("close", resolve));
      else await sleep(latencyMs * streamedChunks(text, toolCalls.length), res);
      if (res.destroyed) return;
      done = true;
      sendJson(res, 200, {
        id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? modelId,
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: text || null,
              ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
            },
            finish_reason: finishReason,
          },
        ],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
      return;
    }

    await stream(res, async (send) => {
      const base = {
        id,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? modelId,
      };
      const chunk = (delta: object, finish: string | null = null) => ({
        ...base,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      if (!(await send(chunk({ role: "assistant", content: "" })))) return;
      const pieces = text.match(/\S+\s*|\s+/g) ?? [];
      if (answer.stall) {
        if (pieces[0]) await send(chunk({ content: pieces[0] }));
        await new Promise<void>((resolve) => res.once("close", resolve));
        return;
      }
      for (const piece of pieces) {
        if (answer.chunkDelayMs) await sleep(answer.chunkDelayMs, res);
        if (!(await send(chunk({ content: piece })))) return;
      }
      for (const [index, call] of toolCalls.entries()) {
        const first = {
          index,
          id: call.id,
          type: "function",
          function: { name: call.function.name, arguments: "" },
        };
        if (!(await send(chunk({ tool_calls: [first] })))) return;
        // Arguments arrive in pieces, as real providers send them.
        const args = call.function.arguments;
        const mid = Math.ceil(args.length / 2);
        for (const part of [args.slice(0, mid), args.slice(mid)]) {
          if (part && !(await send(chunk({ tool_calls: [{ index, function: { arguments: part } }] }))))
            return;
        }
      }
      if (!(await send(chunk({}, finishReason)))) return;
      const total = usage.prompt_tokens + usage.completion_tokens;
      if (!(await send({ ...base, choices: [], usage: { ...usage, total_tokens: total } }))) return;
      await send("[DONE]");
    });
  }

  /** The chunks `stream` sends for an answer: role, one per word, three per tool call, finish, usage, `[DONE]`. */
  function streamedChunks(text: string, toolCalls: number): number {
    return 4 + (text.match(/\S+\s*|\s+/g) ?? []).length + 3 * toolCalls;
  }

  /** Run an SSE stream, counting it as active until it ends and as aborted if the client left first. */
  async function stream(
    res: ServerResponse,
    body: (send: (data: unknown) => Promise<boolean>) => Promise<void>,
  ) {
    active++;
    let done = false;
    res.once("close", () => {
      active--;
      if (!done) aborted++;
    });
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.flushHeaders();
    const send = async (data: unknown): Promise<boolean> => {
      await sleep(latencyMs, res);
      if (res.destroyed || res.writableEnded) return false;
      res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
      return true;
    };
    await body(send);
    if (!res.destroyed && !res.writableEnded) {
      done = true;
      res.end();
    }
  }

  async function streamMalformed(res: ServerResponse, id: string) {
    await stream(res, async (send) => {
      const ok = await send({
        id,
        object: "chat.completion.chunk",
        created: 0,
        model: modelId,
        choices: [{ index: 0, delta: { role: "assistant", content: "partial " }, finish_reason: null }],
      });
      if (!ok) return;
      await send('{"id": "broken", "choices": [ {"delta": ');
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    requestHeaders,
    transcriptions,
    transcribeAs(text: string) {
      transcript = text;
    },
    script: (...responses) => {
      queue.push(...responses);
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    failNext: (status, count, opts = {}) => {
      for (let i = 0; i < count; i++) {
        failures.push({ status, ...(opts.retryAfter !== undefined ? { retryAfter: opts.retryAfter } : {}) });
      }
    },
    activeStreams: () => active,
    abortedStreams: () => aborted,
    waitFor: async (predicate, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`stub LLM: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type StubAnswer = Exclude<StubResponse, (body: StubChatRequest) => StubResponse>;

function resolveAnswer(response: StubResponse, body: StubChatRequest): StubAnswer {
  let answer = response;
  // A function may return another function; a few levels are plenty for any script.
  for (let i = 0; i < 8 && typeof answer === "function"; i++) answer = answer(body);
  if (typeof answer === "function")
    throw new Error("stub LLM: scripted function did not resolve to a response");
  return answer;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string>) {
  const type =
    status === 429
      ? "rate_limit_error"
      : status === 401
        ? "authentication_error"
        : status >= 500
          ? "server_error"
          : "invalid_request_error";
  sendJson(res, status, { error: { message, type, param: null, code: null } }, headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function lastUserText(body: StubChatRequest): string {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  if (Array.isArray(user.content)) {
    return user.content
      .filter((p): p is { type: "text"; text: string } => (p as { type?: string }).type === "text")
      .map((p) => p.text)
      .join(" ");
  }
  return "";
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
