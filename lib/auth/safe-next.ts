// Where to send the browser after sign-in: the `next` of /sign-in?next=… comes from whoever wrote the link, so
// only a path on this site may pass. Browsers read "\" as "/" and drop tabs and line breaks from URLs, which is
// how "/\evil.example" or "/<tab>/evil.example" become "//evil.example" — another site. Anything doubtful is "/".
import { hasControlCharacters } from "@/lib/validation/text";

// Only used to resolve the path: a path that stays on this placeholder origin stays on any origin.
const base = "http://failback.invalid";
const maxLength = 2048;

/** Percent-escapes decoded byte by byte, repeatedly ("%2509" → "%09" → tab); a malformed escape stays as it is. */
function decodedForm(value: string): string {
  let current = value;
  for (let round = 0; round < 5; round++) {
    const next = current.replace(/%([0-9a-f]{2})/gi, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === current) break;
    current = next;
  }
  return current;
}

/** The path to go to after sign-in: `value` when it is a same-origin path, else "/". */
export function safeNext(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.length > maxLength) return "/";
  const decoded = decodedForm(value);
  if (hasControlCharacters(decoded) || decoded.includes("\\")) return "/";
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return "/";
  }
  // "/.//evil.example" resolves on our origin to the path "//evil.example", which a browser would take as
  // another host if it were sent back as a relative redirect.
  if (url.origin !== base || url.pathname.startsWith("//")) return "/";
  return url.pathname + url.search + url.hash;
}
