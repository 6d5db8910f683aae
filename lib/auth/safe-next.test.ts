// The `next` of /sign-in?next=… decides where the browser goes after a successful sign-in: only a path on this
// site may pass, anything that a browser could resolve to another origin falls back to "/".
import { describe, expect, it } from "vitest";
import { safeNext } from "./safe-next";

describe("safeNext", () => {
  it.each([
    ["a backslash after the slash", "/\\evil.example"],
    ["two backslashes", "\\\\evil.example"],
    ["a backslash later on", "/users\\..\\\\evil.example"],
    ["a protocol-relative URL", "//evil.example"],
    ["a protocol-relative URL with a path", "//evil.example/sign-in"],
    ["an absolute URL", "https://evil.example"],
    ["an absolute URL of another scheme", "javascript:alert(1)"],
    ["a tab the URL parser drops", "/\t/evil.example"],
    ["a line feed the URL parser drops", "/\n/evil.example"],
    ["a carriage return", "/\r/evil.example"],
    ["a NUL", "/users\u0000"],
    ["DEL", "/\u007f/evil.example"],
    ["a percent-encoded tab", "/%09/evil.example"],
    ["a percent-encoded NUL", "/users%00"],
    ["a percent-encoded DEL", "/%7F/evil.example"],
    ["a percent-encoded backslash", "/%5Cevil.example"],
    ["a doubly percent-encoded tab", "/%2509/evil.example"],
    ["a path that normalises to two slashes", "/.//evil.example"],
    ["a dot segment that climbs to two slashes", "/x/..//evil.example"],
    ["a relative path", "evil.example"],
    ["an empty value", ""],
    ["a very long value", `/${"a".repeat(5000)}`],
    ["not a string", ["/users"]],
    ["nothing", undefined],
  ])("refuses %s", (_what, value) => {
    expect(safeNext(value)).toBe("/");
  });

  it.each([
    ["/", "/"],
    ["/users", "/users"],
    ["/sessions/3f1c2a4e-0000-4000-8000-000000000001", "/sessions/3f1c2a4e-0000-4000-8000-000000000001"],
    ["/replicas?q=db&state=failover#list", "/replicas?q=db&state=failover#list"],
    ["/replicas?q=d%C3%A9j%C3%A0", "/replicas?q=d%C3%A9j%C3%A0"],
    ["/x/../users", "/users"],
  ])("keeps the path %s", (value, expected) => {
    expect(safeNext(value)).toBe(expected);
  });
});
