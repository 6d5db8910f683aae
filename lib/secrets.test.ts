import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, SecretDecryptionError } from "./secrets";

const key = crypto.randomBytes(32);

describe("secrets at rest", () => {
  it("round-trips and never stores the plaintext", () => {
    const stored = encryptSecret("hunter2-libvirt-password", "host:1", key);
    expect(stored).not.toContain("hunter2");
    expect(stored.startsWith("v1.")).toBe(true);
    expect(decryptSecret(stored, "host:1", key)).toBe("hunter2-libvirt-password");
  });

  it("uses a fresh IV each time", () => {
    expect(encryptSecret("same", "host:1", key)).not.toBe(encryptSecret("same", "host:1", key));
  });

  it("refuses a tampered value, another row's value, or another key", () => {
    const stored = encryptSecret("secret", "host:1", key);
    const parts = stored.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[0] = (body[0] ?? 0) ^ 1;
    const tampered = [parts[0], parts[1], parts[2], body.toString("base64url")].join(".");
    expect(() => decryptSecret(tampered, "host:1", key)).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(stored, "host:2", key)).toThrow(SecretDecryptionError);
    expect(() => decryptSecret(stored, "host:1", crypto.randomBytes(32))).toThrow(SecretDecryptionError);
    expect(() => decryptSecret("garbage", "host:1", key)).toThrow(SecretDecryptionError);
  });
});
