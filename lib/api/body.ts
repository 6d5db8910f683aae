// Reading a JSON request body without trusting it: bounded in size (read incrementally, whatever
// Content-Length claims), JSON only, nesting bounded, and no prototype-pollution keys anywhere.
import { AppError } from "@/lib/errors";

export const maxBodyBytes = 256 * 1024;
const maxDepth = 16;
const forbiddenKeys = new Set(["__proto__", "constructor", "prototype"]);

function invalid(message: string): AppError {
  return new AppError("VALIDATION", message, { _body: [message] });
}

async function readBounded(request: Request): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel().catch(() => {});
      throw invalid(`The request body is larger than ${maxBodyBytes / 1024} KiB.`);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalid("The request body is not UTF-8 text.");
  }
}

function checkShape(value: unknown, depth: number): void {
  if (value === null || typeof value !== "object") return;
  if (depth > maxDepth) throw invalid(`The JSON is nested deeper than ${maxDepth} levels.`);
  if (Array.isArray(value)) {
    for (const item of value) checkShape(item, depth + 1);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (forbiddenKeys.has(key)) throw invalid(`The key "${key}" is not allowed.`);
    checkShape(item, depth + 1);
  }
}

/**
 * The parsed body. An empty body is `{}` when `optional` (action routes whose every field is optional),
 * otherwise a VALIDATION error, as is anything that is not a JSON object.
 */
export async function readJsonBody(
  request: Request,
  options: { optional?: boolean } = {},
): Promise<Record<string, unknown>> {
  const text = await readBounded(request);
  if (text.trim() === "") {
    if (options.optional) return {};
    throw invalid("Send a JSON object as the request body.");
  }
  const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type !== "application/json" && !type.endsWith("+json"))
    throw invalid("Send the body as JSON (Content-Type: application/json).");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("The request body is not valid JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw invalid("The request body must be a JSON object.");
  checkShape(parsed, 1);
  return parsed as Record<string, unknown>;
}
