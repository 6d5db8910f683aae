// Text fields as every schema of the product takes them: control characters are refused with a field error, so
// none reaches PostgreSQL (which refuses NUL outright), a log line or another user's screen. A single line
// refuses line breaks and tabs too; free text (a reason) may keep them.
import { z } from "zod";

/** C0 controls and DEL; free text keeps tab, line feed and carriage return. */
const anyControl = /[\u0000-\u001f\u007f]/g;
const controlButLineBreaks = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const controlsOf = (keepLineBreaks: boolean) => (keepLineBreaks ? controlButLineBreaks : anyControl);

export function hasControlCharacters(text: string, keepLineBreaks = false): boolean {
  return text.search(controlsOf(keepLineBreaks)) !== -1;
}

/** The text without its control characters (for what is recorded or searched rather than refused). */
export function withoutControlCharacters(text: string, keepLineBreaks = false): string {
  return text.replace(controlsOf(keepLineBreaks), "");
}

export const noControlMessage = "Control characters are not allowed.";

/** One line of text, at most `max` characters. */
export const singleLine = (max: number) =>
  z
    .string({ error: "Text expected." })
    .max(max, `At most ${max} characters.`)
    .refine((value) => !hasControlCharacters(value), noControlMessage);

/** Free text (several lines allowed), at most `max` characters. */
export const freeText = (max: number) =>
  z
    .string({ error: "Text expected." })
    .max(max, `At most ${max} characters.`)
    .refine((value) => !hasControlCharacters(value, true), noControlMessage);

/** A search box's text: control characters dropped rather than refused (a search is a read, never an error). */
export function searchText(raw: string | undefined, max = 100): string | undefined {
  const text = withoutControlCharacters(raw ?? "")
    .trim()
    .slice(0, max);
  return text || undefined;
}

/** A page number from a URL: 1 unless a whole number from 1 to `max`. */
export function pageNumber(raw: string | undefined, max = 10_000): number {
  const page = /^\d{1,9}$/.test(raw ?? "") ? Number(raw) : 1;
  return Math.min(Math.max(page, 1), max);
}

/** A row id from a URL (keyset paging): undefined unless a whole number that PostgreSQL's bigint can hold. */
export function rowId(raw: string | undefined): number | undefined {
  if (!/^\d{1,15}$/.test(raw ?? "")) return undefined;
  const id = Number(raw);
  return id > 0 ? id : undefined;
}
