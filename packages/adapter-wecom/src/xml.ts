/**
 * The small XML WeCom speaks: one `<xml>` root whose children are leaf fields, each plain text or CDATA
 * (`<Content><![CDATA[hi]]></Content>`). Nested elements are skipped. Anything else is malformed.
 */

/** A callback body that is not the XML WeCom sends: the request is refused with 400. */
export class WecomXmlError extends Error {
  override name = "WecomXmlError";
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const NAME = /^[A-Za-z_][\w.-]*/;
const MAX_DEPTH = 8;

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

class Reader {
  readonly src: string;
  pos = 0;
  constructor(src: string) {
    this.src = src;
  }
  fail(what: string): never {
    throw new WecomXmlError(`malformed XML at offset ${this.pos}: ${what}`);
  }
  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }
  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  skipUntil(end: string): void {
    const i = this.src.indexOf(end, this.pos);
    if (i < 0) this.fail(`missing ${end}`);
    this.pos = i + end.length;
  }
  /** Skip the XML declaration, comments and whitespace before the root. */
  skipProlog(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith("<?")) this.skipUntil("?>");
      else if (this.startsWith("<!--")) this.skipUntil("-->");
      else return;
    }
  }
  /** `<Name attr="…">` or `<Name/>`; returns the name and whether the element is self-closing. */
  openTag(): { name: string; empty: boolean } {
    if (!this.startsWith("<")) this.fail("expected an element");
    this.pos++;
    const name = NAME.exec(this.src.slice(this.pos))?.[0];
    if (!name) this.fail("expected an element name");
    this.pos += name.length;
    const close = this.src.indexOf(">", this.pos);
    if (close < 0) this.fail(`unterminated <${name}>`);
    const attrs = this.src.slice(this.pos, close);
    if (attrs.includes("<")) this.fail(`unterminated <${name}>`);
    this.pos = close + 1;
    return { name, empty: attrs.trimEnd().endsWith("/") };
  }
  closeTag(name: string): void {
    const tag = `</${name}`;
    if (!this.startsWith(tag)) this.fail(`expected </${name}>`);
    this.pos += tag.length;
    this.skipSpace();
    if (!this.startsWith(">")) this.fail(`expected </${name}>`);
    this.pos++;
  }
  /** The content of element `name` up to and including its end tag: text and CDATA joined, children skipped. */
  content(name: string, depth: number): { text: string; leaf: boolean } {
    if (depth > MAX_DEPTH) this.fail("nested too deeply");
    const parts: Array<{ text: string; cdata: boolean }> = [];
    let leaf = true;
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unterminated <${name}>`);
      if (this.startsWith("<![CDATA[")) {
        const end = this.src.indexOf("]]>", this.pos + 9);
        if (end < 0) this.fail("unterminated CDATA section");
        parts.push({ text: this.src.slice(this.pos + 9, end), cdata: true });
        this.pos = end + 3;
      } else if (this.startsWith("<!--")) {
        this.skipUntil("-->");
      } else if (this.startsWith("</")) {
        this.closeTag(name);
        // Whitespace around a CDATA section is layout (`<Content>\n  <![CDATA[hi]]>\n</Content>`), not content.
        const hasCdata = parts.some((p) => p.cdata);
        const text = parts
          .filter((p) => p.cdata || !hasCdata || p.text.trim() !== "")
          .map((p) => p.text)
          .join("");
        return { text, leaf };
      } else if (this.startsWith("<")) {
        leaf = false;
        const child = this.openTag();
        if (!child.empty) this.content(child.name, depth + 1);
      } else {
        const next = this.src.indexOf("<", this.pos);
        if (next < 0) this.fail(`unterminated <${name}>`);
        parts.push({ text: decodeEntities(this.src.slice(this.pos, next)), cdata: false });
        this.pos = next;
      }
    }
  }
}

/**
 * Parse `<xml><Field>value</Field>…</xml>` into `{ Field: value }`. Leaf fields only: an element with children
 * (e.g. `SendPicsInfo`) is skipped. Throws `WecomXmlError` on anything malformed.
 */
export function parseWecomXml(xml: string): Record<string, string> {
  const r = new Reader(xml);
  r.skipProlog();
  const root = r.openTag();
  if (root.name !== "xml") r.fail(`the root element is <${root.name}>, not <xml>`);
  const fields: Record<string, string> = {};
  if (!root.empty) {
    for (;;) {
      r.skipSpace();
      if (r.startsWith("<!--")) {
        r.skipUntil("-->");
        continue;
      }
      if (r.startsWith("</")) {
        r.closeTag("xml");
        break;
      }
      if (r.pos >= xml.length) r.fail("unterminated <xml>");
      if (!r.startsWith("<")) r.fail("text outside a field");
      const field = r.openTag();
      if (field.empty) {
        fields[field.name] = "";
        continue;
      }
      const { text, leaf } = r.content(field.name, 1);
      if (leaf) fields[field.name] = text;
    }
  }
  r.skipProlog();
  if (r.pos < xml.length) r.fail("content after </xml>");
  return fields;
}

/** One XML text node as CDATA; a `]]>` inside is split across two sections, as XML requires. */
export function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
}
