import { describe, expect, it } from "vitest";
import { HostPolicy, hostName, isPublicAddress } from "../src/index.ts";

describe("Host policy", () => {
  it("serves loopback names on any port, the bound address and allowed_hosts; nothing else", () => {
    const p = new HostPolicy(["gw.example", "Other.Example."], "10.0.0.5");
    for (const ok of [
      "localhost",
      "localhost:8642",
      "127.0.0.1:1",
      "[::1]:8642",
      "[::1]",
      "::1",
      "10.0.0.5:8642",
      "GW.example:443",
      "other.example",
    ])
      expect(p.allows(ok), ok).toBe(true);
    for (const bad of [
      "evil.example",
      "localhost.evil.example",
      "127.0.0.2",
      "gw.example.evil",
      "",
      null,
      undefined,
    ])
      expect(p.allows(bad), String(bad)).toBe(false);
    expect(new HostPolicy([], "0.0.0.0").allows("0.0.0.0:8642")).toBe(false);
    expect(new HostPolicy(["*"], "127.0.0.1").allows("anything.example")).toBe(true);
    expect(hostName("[FE80::1]:80")).toBe("fe80::1");
  });
});

describe("addresses the gateway fetches from", () => {
  it("refuses loopback, private, link-local, metadata and mapped addresses; allows public ones", () => {
    for (const bad of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fe80::1",
      "fd00:ec2::254",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "::127.0.0.1",
      "::ffff:7f00:1",
      "224.0.0.1",
      "not-an-ip",
    ])
      expect(isPublicAddress(bad), bad).toBe(false);
    for (const ok of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
      expect(isPublicAddress(ok), ok).toBe(true);
  });
});
