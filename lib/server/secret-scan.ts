// Finds secrets where none may be: a password hash, an API token, a session cookie, a password or key the caller
// knows of. `npm test` runs it over everything the product's server printed during the run.
export interface SecretFinding {
  kind: string;
  line: number;
  /** The line, with the secret itself masked (the report must not leak it again). */
  excerpt: string;
}

const patterns: { kind: string; pattern: RegExp }[] = [
  { kind: "argon2 password hash", pattern: /\$argon2(?:id|i|d)\$[^\s"',]+/ },
  { kind: "API token", pattern: /\bfbk_[A-Za-z0-9_-]{20,}/ },
  { kind: "session cookie", pattern: /authjs\.session-token=[^;\s]{20,}/ },
  { kind: "bearer credentials", pattern: /Bearer\s+[A-Za-z0-9._~+/=-]{20,}/ },
];

/** Every line of `text` that holds a secret: the patterns above, and each of `known` (at least 8 characters). */
export function findSecrets(text: string, known: { kind: string; value: string }[] = []): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const literal = known.filter((k) => k.value.length >= 8);
  text.split("\n").forEach((line, i) => {
    for (const { kind, pattern } of patterns) {
      const match = pattern.exec(line);
      if (match) findings.push({ kind, line: i + 1, excerpt: mask(line, match[0]) });
    }
    for (const { kind, value } of literal) {
      if (line.includes(value)) findings.push({ kind, line: i + 1, excerpt: mask(line, value) });
    }
  });
  return findings;
}

function mask(line: string, secret: string): string {
  return line.replace(secret, `${secret.slice(0, 6)}…(${secret.length} chars)`).slice(0, 200);
}
