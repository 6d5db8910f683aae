// Secrets at rest (hypervisor credentials): AES-256-GCM under a key derived from the server's master key.
// Stored as "v1.<iv>.<tag>.<ciphertext>" in base64url; the associated data binds a ciphertext to its row.
import crypto from "node:crypto";
import { derivedKey } from "@/lib/config";

const version = "v1";

export function encryptSecret(plaintext: string, associatedData: string, key: Buffer = derivedKey("secrets")): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [version, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
}

export class SecretDecryptionError extends Error {
  constructor() {
    super("A stored secret could not be decrypted: the server key changed or the value was altered.");
    this.name = "SecretDecryptionError";
  }
}

export function decryptSecret(stored: string, associatedData: string, key: Buffer = derivedKey("secrets")): string {
  const [v, iv, tag, ciphertext] = stored.split(".");
  if (v !== version || !iv || !tag || ciphertext === undefined) throw new SecretDecryptionError();
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretDecryptionError();
  }
}
