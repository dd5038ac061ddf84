/** Names a browser only uses for this machine: a page elsewhere cannot make its requests carry them. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "::1"]);
/** Bind addresses that mean "every interface", not a name a client would put in `Host`. */
const WILDCARD_BINDS: ReadonlySet<string> = new Set(["0.0.0.0", "::", "[::]", ""]);

/** The host name of a `Host` header value, lowercased, without port, brackets or trailing dot. */
export function hostName(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    h = end > 0 ? h.slice(1, end) : h.slice(1);
  } else {
    const colon = h.lastIndexOf(":");
    // One colon is `name:port`; several without brackets is a bare IPv6 literal.
    if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  }
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/**
 * The `Host` values a listener answers: loopback names (any port), the address it is bound to, and the
 * operator's `api_server.allowed_hosts` (`*` for any). Anything else is a DNS-rebinding page or a
 * misrouted request.
 */
export class HostPolicy {
  readonly #names: ReadonlySet<string>;
  readonly #any: boolean;

  constructor(allowedHosts: readonly string[], bindHost: string) {
    const names = new Set(LOOPBACK_NAMES);
    const bound = hostName(bindHost);
    if (!WILDCARD_BINDS.has(bound)) names.add(bound);
    for (const h of allowedHosts) names.add(hostName(h));
    this.#any = names.has("*");
    this.#names = names;
  }

  allows(header: string | null | undefined): boolean {
    if (this.#any) return true;
    if (!header) return false;
    return this.#names.has(hostName(header));
  }
}

/**
 * The host a request was sent to: its `Host` header, else the URL's authority (a web-standard `Request`
 * built in process has no `Host` header; on the Node listener the URL is built from it).
 */
export function requestHost(request: Request): string | null {
  const header = request.headers.get("host");
  if (header !== null) return header;
  try {
    return new URL(request.url).host || null;
  } catch {
    return null;
  }
}

const policies = new WeakMap<object, HostPolicy>();

/** The policy of one `api_server` settings object, built once per config (settings are swapped on reload). */
export function hostPolicyOf(settings: { allowed_hosts: readonly string[]; host: string }): HostPolicy {
  let p = policies.get(settings);
  if (!p) {
    p = new HostPolicy(settings.allowed_hosts, settings.host);
    policies.set(settings, p);
  }
  return p;
}

/** The 421 answered to a request whose `Host` the listener does not serve (OpenAI error shape). */
export function foreignHostResponse(host: string | null): Response {
  const shown = host ? `"${host.slice(0, 100)}"` : "(none)";
  return new Response(
    JSON.stringify({
      error: {
        message: `This server does not answer for Host ${shown}. Use http://127.0.0.1 or localhost, or add the name to api_server.allowed_hosts.`,
        type: "invalid_request_error",
        param: null,
        code: "host_not_allowed",
      },
    }),
    { status: 421, headers: { "content-type": "application/json" } },
  );
}
