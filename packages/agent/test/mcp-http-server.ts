import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

export interface TestHttpMcp {
  url: string;
  /** The headers of every request, lower-cased names, in arrival order. */
  readonly requests: Array<Record<string, string | string[] | undefined>>;
  /** MCP sessions initialized so far (one per client connection). */
  sessions(): number;
  close(): Promise<void>;
}

/** A real Streamable HTTP MCP server on 127.0.0.1 (official SDK), one MCP session per client. */
export async function startHttpMcp(options: { port?: number } = {}): Promise<TestHttpMcp> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const requests: TestHttpMcp["requests"] = [];
  let initialized = 0;

  const build = (req: IncomingMessage) => {
    const mcp = new McpServer({ name: "test-search", version: "1.0.0" });
    const auth = String(req.headers.authorization ?? "");
    mcp.registerTool(
      "search",
      { description: "Search (http)", inputSchema: { q: z.string() } },
      async ({ q }) => ({ content: [{ type: "text", text: `http:${q}` }] }),
    );
    mcp.registerTool(
      "whoami",
      { description: "Report the Authorization header this session was opened with", inputSchema: {} },
      async () => ({ content: [{ type: "text", text: JSON.stringify({ authorization: auth }) }] }),
    );
    return mcp;
  };

  const server: Server = createServer(async (req, res) => {
    requests.push({ ...req.headers });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? JSON.parse(raw) : undefined;
    const sid = req.headers["mcp-session-id"];
    let transport = typeof sid === "string" ? transports.get(sid) : undefined;
    if (!transport) {
      if (req.method !== "POST" || !body || body.method !== "initialize") {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "no session" }, id: null }));
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          initialized++;
          transports.set(id, t);
        },
      });
      t.onclose = () => {
        if (t.sessionId) transports.delete(t.sessionId);
      };
      await build(req).connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    sessions: () => initialized,
    close: async () => {
      for (const t of transports.values()) await t.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
