// The log scan finds each kind of secret, masks it in its report, and leaves ordinary log lines alone.
import { describe, expect, it } from "vitest";
import { findSecrets } from "./secret-scan";

describe("the secret scan", () => {
  it("finds hashes, tokens, cookies, bearer credentials and known passwords, masked", () => {
    const log = [
      "[worker] worker vm:1:abc started (concurrency 2, lease 5 s)",
      "Failed query: insert into users params: a@b.c,$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
      "token fbk_0123456789abcdefghijABCDEFGHIJ created",
      "cookie: authjs.session-token=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0",
      "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
      "signing in with e2e-admin-password-1",
    ].join("\n");
    const found = findSecrets(log, [{ kind: "admin password", value: "e2e-admin-password-1" }]);
    expect(found.map((f) => [f.line, f.kind])).toEqual([
      [2, "argon2 password hash"],
      [3, "API token"],
      [4, "session cookie"],
      [5, "bearer credentials"],
      [6, "admin password"],
    ]);
    for (const finding of found) expect(finding.excerpt).toContain("chars)");
    expect(found[1]?.excerpt).not.toContain("0123456789abcdefghij");
  });

  it("passes a clean log", () => {
    expect(findSecrets("[failback] Ready: http://127.0.0.1:3000\nGET /api/v1/me 401\nfbk_ABC short")).toEqual([]);
  });
});
