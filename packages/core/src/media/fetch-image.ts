import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Why an image URL was not fetched; `code` is stable for API errors. */
export class ImageFetchError extends Error {
  override name = "ImageFetchError";
  readonly code: "image_forbidden_address" | "image_too_large" | "image_timeout" | "image_fetch_failed";
  constructor(code: ImageFetchError["code"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface ImageFetchOptions {
  /** Bytes one image may have (and, with `budget`, all images of one request). */
  maxBytes: number;
  timeoutMs: number;
  /** Host names fetched even though they resolve to a private address (an intranet image server). */
  trustedHosts?: readonly string[];
  /** DNS resolution; default the system resolver. */
  lookup?: typeof dnsLookup;
}

export interface FetchedImage {
  mimeType: string;
  data: Buffer;
}

/**
 * Addresses a gateway must never be made to reach on a caller's behalf: loopback, private networks,
 * carrier-grade NAT, link-local (the cloud metadata service at 169.254.169.254 among them), multicast and
 * reserved ranges, the same in IPv6 (IPv4-mapped addresses are checked as IPv4).
 */
const FORBIDDEN = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.0.2.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4],
  ] as const)
    b.addSubnet(net, bits, "ipv4");
  for (const [net, bits] of [
    ["::", 96],
    ["64:ff9b::", 96],
    ["100::", 64],
    ["2001:db8::", 32],
    ["fc00::", 7],
    ["fe80::", 10],
    ["ff00::", 8],
  ] as const)
    b.addSubnet(net, bits, "ipv6");
  return b;
})();

/** Whether `address` (an IP literal) is one the gateway may connect to for a caller. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return !FORBIDDEN.check(address, "ipv4");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !FORBIDDEN.check(mapped[1]!, "ipv4");
  return !FORBIDDEN.check(address, "ipv6");
}

const MAX_REDIRECTS = 3;

/**
 * The resolver the connection uses, refusing forbidden addresses: the address checked is the one connected
 * to, so a name that resolves differently on a second lookup (DNS rebinding) gains nothing.
 */
function guardedLookup(base: typeof dnsLookup, host: string): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 4);
      const list = addresses as unknown as LookupAddress[];
      const bad = list.find((a) => !isPublicAddress(a.address));
      if (bad || list.length === 0) {
        const e = new ImageFetchError(
          "image_forbidden_address",
          `the image host ${host} resolves to ${bad?.address ?? "no address"}, a private or local address the gateway does not fetch from`,
        );
        return callback(e as unknown as NodeJS.ErrnoException, "", 4);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/**
 * Download an image for a caller: http(s) only, never from a private, loopback, link-local or metadata
 * address (checked on the resolved address), at most `maxBytes`, within `timeoutMs` overall, following at
 * most three redirects (each checked again). The body must be an `image/*`.
 */
export async function fetchImage(url: string, options: ImageFetchOptions): Promise<FetchedImage> {
  const deadline = Date.now() + options.timeoutMs;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await get(current, options, deadline);
    if (res.kind === "image") return res.image;
    current = res.location;
  }
  throw new ImageFetchError("image_fetch_failed", `the image URL redirects more than ${MAX_REDIRECTS} times`);
}

type Hop = { kind: "image"; image: FetchedImage } | { kind: "redirect"; location: string };

function get(url: string, options: ImageFetchOptions, deadline: number): Promise<Hop> {
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    return Promise.reject(
      new ImageFetchError("image_fetch_failed", "the image URL is not a valid URL", { cause }),
    );
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(new ImageFetchError("image_fetch_failed", "image URLs must be http or https"));
  }
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const trusted = options.trustedHosts?.some((h) => h.toLowerCase() === host) ?? false;
  // An IP literal is connected to without a lookup, so it is checked here.
  if (!trusted && isIP(host) && !isPublicAddress(host)) {
    return Promise.reject(
      new ImageFetchError(
        "image_forbidden_address",
        `the image address ${host} is private or local; the gateway does not fetch from it`,
      ),
    );
  }
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(timeoutError(options.timeoutMs));

  return new Promise<Hop>((resolve, reject) => {
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, {
      method: "GET",
      headers: { accept: "image/*" },
      ...(trusted ? {} : { lookup: guardedLookup(options.lookup ?? dnsLookup, host) }),
    });
    const timer = setTimeout(() => req.destroy(timeoutError(options.timeoutMs)), remaining);
    const fail = (err: unknown) => {
      clearTimeout(timer);
      reject(
        err instanceof ImageFetchError
          ? err
          : new ImageFetchError(
              "image_fetch_failed",
              `the image could not be fetched: ${(err as Error).message}`,
              {
                cause: err,
              },
            ),
      );
    };
    req.on("error", fail);
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        clearTimeout(timer);
        res.resume();
        resolve({ kind: "redirect", location: new URL(res.headers.location, target).href });
        return;
      }
      const mimeType = (res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (status !== 200 || !mimeType.startsWith("image/")) {
        res.resume();
        return fail(
          new ImageFetchError(
            "image_fetch_failed",
            status !== 200
              ? `the image URL answered HTTP ${status}`
              : `the URL is not an image (${mimeType || "no type"})`,
          ),
        );
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        req.destroy();
        return fail(tooLarge(options.maxBytes));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > options.maxBytes) {
          req.destroy(tooLarge(options.maxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ kind: "image", image: { mimeType, data: Buffer.concat(chunks, size) } });
      });
    });
    req.end();
  });
}

const timeoutError = (ms: number) =>
  new ImageFetchError("image_timeout", `the image did not arrive within ${Math.round(ms / 100) / 10} s`);
const tooLarge = (max: number) =>
  new ImageFetchError("image_too_large", `the image is larger than the limit of ${max} bytes`);
