import { hash, verify, type Algorithm } from "@node-rs/argon2";

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane).
// Algorithm is a const enum (not importable as a value here); 2 is its Argon2id member.
const argon2id = 2 as Algorithm;
const options = { algorithm: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this for unknown accounts makes them cost the same time as known ones.
let dummyHash: Promise<string> | undefined;
export function burnPasswordCheck(password: string): Promise<boolean> {
  dummyHash ??= hashPassword("failback-no-such-user-placeholder");
  return dummyHash.then((h) => verifyPassword(h, password)).then(() => false);
}

/** Policy for passwords set through the product. */
export const passwordMinLength = 12;
