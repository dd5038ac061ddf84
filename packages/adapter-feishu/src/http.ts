import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { HttpInstance, HttpRequestOptions } from "@larksuiteoapi/node-sdk";

const REQUEST_TIMEOUT_MS = 15_000;

/** Thrown for a non-2xx answer, shaped like the axios error the SDK would otherwise throw (see `errors.ts`). */
export class FeishuHttpError extends Error {
  override name = "FeishuHttpError";
  readonly response: { status: number; data: unknown; headers: Record<string, string> };
  constructor(
    method: string,
    url: string,
    response: { status: number; data: unknown; headers: Record<string, string> },
  ) {
    super(`${method} ${new URL(url).pathname} answered ${response.status}`);
    this.response = response;
  }
}

/**
 * The SDK's HTTP client on `fetch`, one per account: every request has a timeout and is aborted when the
 * adapter stops, and nothing is shared with other accounts (the SDK's default is one global axios instance,
 * which also picks up HTTP(S)_PROXY for loopback URLs).
 */
export function createHttpInstance(signal: () => AbortSignal | undefined): HttpInstance {
  async function request<R>(opts: HttpRequestOptions<unknown>): Promise<R> {
    const method = (opts.method ?? "GET").toUpperCase();
    const url = new URL(opts.url ?? "");
    if (opts.params && Object.keys(opts.params).length) {
      const serializer = opts.paramsSerializer;
      const query =
        typeof serializer === "function"
          ? serializer(opts.params)
          : new URLSearchParams(
              Object.entries(opts.params)
                .filter(([, v]) => v !== undefined && v !== null)
                .map(([k, v]): [string, string] => [k, String(v)]),
            ).toString();
      if (query) url.search = url.search ? `${url.search}&${query}` : query;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(opts.headers ?? {}))
      if (v !== undefined && v !== null) headers.set(k, String(v));
    let body: RequestInit["body"];
    const multipart = headers.get("content-type")?.startsWith("multipart/form-data") ?? false;
    if (multipart && opts.data && typeof opts.data === "object" && !(opts.data instanceof FormData)) {
      // Uploads (`im.image.create`, `im.file.create`): the SDK hands axios a plain object to send as a form.
      body = formOf(opts.data as Record<string, unknown>);
      headers.delete("content-type");
    } else if (opts.data !== undefined && method !== "GET" && method !== "HEAD") {
      if (typeof opts.data === "string" || opts.data instanceof Uint8Array || opts.data instanceof FormData) {
        body = opts.data as RequestInit["body"];
      } else {
        body = JSON.stringify(opts.data);
        if (!headers.has("content-type")) headers.set("content-type", "application/json; charset=utf-8");
      }
    }
    const timeout = AbortSignal.timeout(opts.timeout && opts.timeout > 0 ? opts.timeout : REQUEST_TIMEOUT_MS);
    const stop = signal();
    const res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: stop ? AbortSignal.any([stop, timeout]) : timeout,
    });
    const responseType = (opts as { responseType?: string }).responseType;
    if (responseType === "stream" && res.ok && res.body) {
      // Downloads (`im.messageResource.get`): the body stays a stream, so the caller can cap it as it reads.
      const stream = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
      const responseHeaders = Object.fromEntries(res.headers);
      return (opts.$return_headers ? { data: stream, headers: responseHeaders } : stream) as R;
    }
    const text = await res.text();
    let data: unknown = text;
    if (text && (res.headers.get("content-type")?.includes("json") || /^\s*[{[]/.test(text))) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    const responseHeaders = Object.fromEntries(res.headers);
    if (!res.ok)
      throw new FeishuHttpError(method, url.toString(), {
        status: res.status,
        data,
        headers: responseHeaders,
      });
    return (opts.$return_headers ? { data, headers: responseHeaders } : data) as R;
  }
  function formOf(data: Record<string, unknown>): FormData {
    const form = new FormData();
    const name = typeof data.file_name === "string" ? data.file_name : "file";
    for (const [k, v] of Object.entries(data)) {
      if (v === undefined || v === null) continue;
      if (v instanceof Uint8Array) form.append(k, new Blob([v as Uint8Array<ArrayBuffer>]), name);
      else form.append(k, String(v));
    }
    return form;
  }
  const withBody =
    (method: string) =>
    <R>(url: string, data?: unknown, opts?: HttpRequestOptions<unknown>) =>
      request<R>({ ...opts, method, url, data });
  const withoutBody =
    (method: string) =>
    <R>(url: string, opts?: HttpRequestOptions<unknown>) =>
      request<R>({ ...opts, method, url });
  return {
    request,
    get: withoutBody("GET"),
    delete: withoutBody("DELETE"),
    head: withoutBody("HEAD"),
    options: withoutBody("OPTIONS"),
    post: withBody("POST"),
    put: withBody("PUT"),
    patch: withBody("PATCH"),
  } as HttpInstance;
}
