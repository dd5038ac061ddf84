import { type Agent, request } from "node:http";

export interface Posted {
  status: number;
  /** The whole answer, unless `onData` took it. */
  text: string;
  /** Milliseconds from sending the request to the answer's end. */
  ms: number;
}

/**
 * POST a JSON body over plain node:http on `agent` (no SDK in the measured path) and wait for the answer's
 * end. With `onData` each chunk goes to it, with the milliseconds so far, instead of into `text`.
 */
export function postJson(
  url: string,
  body: string,
  agent: Agent,
  headers: Record<string, string>,
  onData?: (chunk: string, ms: number) => void,
): Promise<Posted> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const t0 = performance.now();
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on(
          "data",
          onData ? (d: string) => onData(d, performance.now() - t0) : (d: string) => (text += d),
        );
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - t0 }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
