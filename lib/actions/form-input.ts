// What a server action receives, as a plain object: forms send FormData, components may send an object.
// React's own fields ($ACTION…) are dropped and prototype keys are never copied.
export function inputToObject(raw: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (raw instanceof FormData) {
    for (const [key, value] of raw.entries()) {
      if (key.startsWith("$ACTION")) continue;
      out[key] = typeof value === "string" ? value : "";
    }
    return out;
  }
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) out[key] = value;
  }
  return out;
}
