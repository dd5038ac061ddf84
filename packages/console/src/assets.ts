import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const TYPES = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" } as const;

/** The files the page loads, read once: the console's own, and uPlot from its npm package (no CDN). */
const FILES: Record<string, () => string> = {
  "console.css": () => own("console.css"),
  "console.js": () => own("console.js"),
  "live.js": () => own("live.js"),
  "chat.js": () => own("chat.js"),
  "uplot.js": () =>
    readFileSync(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
  "uplot.css": () => readFileSync(createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"), "utf8"),
};

function own(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../assets/${name}`, import.meta.url)), "utf8");
}

const cache = new Map<string, string>();

/** A static asset's response, or `undefined` for a name that is not one. */
export function assetResponse(name: string): Response | undefined {
  const load = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!load) return undefined;
  let text = cache.get(name);
  if (text === undefined) {
    text = load();
    cache.set(name, text);
  }
  const ext = name.endsWith(".css") ? "css" : "js";
  return new Response(text, {
    headers: { "content-type": TYPES[ext], "cache-control": "private, max-age=300" },
  });
}
