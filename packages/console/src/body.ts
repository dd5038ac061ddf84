import { readAtMost } from "@switchboard/core";

/** Form fields under a size cap (`undefined` when the body is larger). */
export async function formOf(request: Request, limit = 16 * 1024): Promise<URLSearchParams | undefined> {
  const text = await textOf(request, limit);
  return text === undefined ? undefined : new URLSearchParams(text);
}

export async function textOf(request: Request, limit: number): Promise<string | undefined> {
  if (!request.body) return "";
  const bytes = await readAtMost(request.body, limit);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
