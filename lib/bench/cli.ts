// Small command-line helpers shared by the benchmarks.

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "2G", "256M", "64k", "1048576" → bytes (binary units; a trailing "iB"/"B" is accepted). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = match ? UNITS[(match[2] ?? "").toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 2G, 256M, 64k)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`size out of range: ${text}`);
  return bytes;
}

export interface FlagSpec {
  /** Flags that take a value (`--size 2G`); others are booleans (`--json`). */
  values: readonly string[];
  booleans: readonly string[];
}

/** `--name value` / `--name=value` / `--flag`; unknown flags are an error, so typos do not go unnoticed. */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") continue; // npm run passes its separator through in some versions
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    if (spec.booleans.includes(name) && eq < 0) {
      out.set(name, true);
    } else if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      out.set(name, value);
    } else {
      throw new Error(`unknown option --${name}`);
    }
  }
  return out;
}
