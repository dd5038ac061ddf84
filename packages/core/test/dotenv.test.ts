import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { parseDotenv, readDotenv } from "../src/dotenv.ts";

it("parses the .env shapes people write", () => {
  const text = [
    "# a comment",
    "PLAIN=value",
    "export EXPORTED=yes",
    "SPACED = around  ",
    "TRAILING=value # a comment",
    "HASH_INSIDE=abc#def",
    'DOUBLE="two words" # a comment after quotes',
    "SINGLE='it''s raw \\n' ",
    'ESCAPED="line1\\nline2 \\"quoted\\" back\\\\slash"',
    "EMPTY=",
    'EMPTY_QUOTED=""',
    "URL=https://example.com/path?a=1&b=2",
    "WINDOWS=crlf\r",
    "not a line",
    "=nokey",
  ].join("\n");
  expect(parseDotenv(text)).toEqual({
    PLAIN: "value",
    EXPORTED: "yes",
    SPACED: "around",
    TRAILING: "value",
    HASH_INSIDE: "abc#def",
    DOUBLE: "two words",
    SINGLE: "it",
    ESCAPED: 'line1\nline2 "quoted" back\\slash',
    EMPTY: "",
    EMPTY_QUOTED: "",
    URL: "https://example.com/path?a=1&b=2",
    WINDOWS: "crlf",
  });
});

it("reads a .env file, re-reading it when it changes and treating a missing file as empty", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-dotenv-"));
  try {
    const file = join(dir, ".env");
    expect(readDotenv(file)).toEqual({});
    writeFileSync(file, "A=1\n");
    expect(readDotenv(file)).toEqual({ A: "1" });
    writeFileSync(file, "A=1\nB=22\n");
    expect(readDotenv(file)).toEqual({ A: "1", B: "22" });
    rmSync(file);
    expect(readDotenv(file)).toEqual({});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
