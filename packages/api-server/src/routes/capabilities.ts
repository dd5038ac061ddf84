import type { Hono } from "hono";
import type { ApiContext, ApiEnv } from "../context.ts";
import { jsonResponse } from "../http.ts";
import { methods } from "./methods.ts";

/**
 * `GET /v1/capabilities`: what this server supports, in the Hermes gateway's shape (so its clients find
 * what they look for) with Switchboard's additions. Agent names are not listed: `/v1/models` does that per key.
 */
export function registerCapabilityRoutes(v1: Hono<ApiEnv>, ctx: ApiContext): void {
  methods(v1, "/capabilities", {
    GET: (c) => {
      const settings = ctx.settings();
      const pinned = c.get("pinned");
      const prefix = pinned ? `/agents/${pinned.id}/v1` : "/v1";
      return jsonResponse({
        object: "hermes.api_server.capabilities",
        platform: "switchboard",
        version: ctx.version,
        model: pinned?.id ?? ctx.gateway.config.default_agent,
        auth: { type: "bearer", required: !ctx.keys().open },
        runtime: { mode: "server_agent", tool_execution: "server", client_tools: "client" },
        features: {
          chat_completions: true,
          chat_completions_streaming: true,
          responses: true,
          responses_streaming: true,
          responses_input_items: true,
          runs: true,
          run_events: true,
          run_stop: true,
          models: true,
          client_tools: true,
          structured_output: ["json_object", "json_schema"],
          sampling: [
            "temperature",
            "top_p",
            "max_tokens",
            "max_completion_tokens",
            "stop",
            "seed",
            "presence_penalty",
            "frequency_penalty",
          ],
          idempotency_key: true,
          plain_models: settings.plain_models,
          multi_agent: true,
          session_continuity_header: "X-Hermes-Session-Id",
          session_key_header: "X-Hermes-Session-Key",
          identity_headers: [
            "X-Switchboard-Session-Id",
            "X-Switchboard-Session-Key",
            "X-Switchboard-Chat-Id",
            "X-Switchboard-User-Id",
            "X-Switchboard-Thread-Id",
            "X-Hermes-Session-Id",
            "X-Hermes-Session-Key",
            "X-Hermes-Chat-Id",
            "X-Hermes-User-Id",
            "X-Hermes-Thread-Id",
            "X-OpenWebUI-Chat-Id",
            "X-OpenWebUI-User-Id",
          ],
          reasoning_streaming: false,
        },
        endpoints: {
          models: `${prefix}/models`,
          chat_completions: `${prefix}/chat/completions`,
          responses: `${prefix}/responses`,
          response: `${prefix}/responses/{id}`,
          response_input_items: `${prefix}/responses/{id}/input_items`,
          runs: `${prefix}/runs`,
          run: `${prefix}/runs/{id}`,
          run_events: `${prefix}/runs/{id}/events`,
          run_stop: `${prefix}/runs/{id}/stop`,
          capabilities: `${prefix}/capabilities`,
          health: "/health",
        },
      });
    },
  });
}
