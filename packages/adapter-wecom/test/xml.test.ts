import { describe, expect, it } from "vitest";
import { cdata, parseWecomXml, WecomXmlError } from "../src/xml.ts";

describe("WeCom XML", () => {
  it("reads CDATA and plain text fields", () => {
    const xml =
      "<xml><ToUserName><![CDATA[corp]]></ToUserName><CreateTime>1409659813</CreateTime>" +
      "<Content><![CDATA[a < b & </Content> c]]></Content><MsgId>42</MsgId></xml>";
    expect(parseWecomXml(xml)).toEqual({
      ToUserName: "corp",
      CreateTime: "1409659813",
      Content: "a < b & </Content> c",
      MsgId: "42",
    });
  });

  it("tolerates a declaration, comments, layout whitespace and decodes entities", () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<!-- pushed -->
<xml>
  <Content>
    <![CDATA[  keep my spaces ]]>
  </Content>
  <Title>Tom &amp; Jerry &#x4F60;&#22909;</Title>
  <Empty/>
</xml>
`;
    expect(parseWecomXml(xml)).toEqual({
      Content: "  keep my spaces ",
      Title: "Tom & Jerry 你好",
      Empty: "",
    });
  });

  it("skips nested elements and joins split CDATA sections", () => {
    const xml = `<xml><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList></SendPicsInfo><Content>${cdata("a ]]> b")}</Content></xml>`;
    expect(parseWecomXml(xml)).toEqual({ Content: "a ]]> b" });
  });

  it.each([
    ["not xml at all", "hello"],
    ["another root", "<root><a>1</a></root>"],
    ["an unterminated field", "<xml><Content>hi</xml>"],
    ["an unterminated CDATA", "<xml><Content><![CDATA[hi</Content></xml>"],
    ["a mismatched end tag", "<xml><Content>hi</Other></xml>"],
    ["text after the root", "<xml></xml>trailing"],
    ["an unclosed root", "<xml><A>1</A>"],
    ["an empty body", ""],
  ])("refuses %s", (_name, xml) => {
    expect(() => parseWecomXml(xml)).toThrow(WecomXmlError);
  });
});
