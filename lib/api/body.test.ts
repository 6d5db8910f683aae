// Reading JSON bodies without trusting them (no database needed).
import { describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { maxBodyBytes, readJsonBody } from "./body";

const post = (body: BodyInit | null, contentType: string | null = "application/json") =>
  new Request("http://localhost/x", {
    method: "POST",
    body,
    headers: contentType ? { "content-type": contentType } : {},
  });

async function refusal(request: Request, options?: { optional?: boolean }): Promise<AppError> {
  try {
    await readJsonBody(request, options);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("readJsonBody", () => {
  it("parses a JSON object, with a charset or a +json type", async () => {
    expect(await readJsonBody(post('{"a":1}'))).toEqual({ a: 1 });
    expect(await readJsonBody(post('{"a":1}', "application/json; charset=utf-8"))).toEqual({ a: 1 });
    expect(await readJsonBody(post('{"a":[1,{"b":null}]}', "application/merge-patch+json"))).toEqual({
      a: [1, { b: null }],
    });
  });

  it("treats an empty body as {} only where every field is optional", async () => {
    expect(await readJsonBody(post(null, null), { optional: true })).toEqual({});
    expect((await refusal(post(null, null))).code).toBe("VALIDATION");
  });

  it.each([
    ["broken JSON", "{"],
    ["an array", "[1]"],
    ["null", "null"],
    ["a string", '"x"'],
    ["__proto__", '{"__proto__":{"polluted":true}}'],
    ["a nested constructor", '{"a":[{"constructor":{}}]}'],
    ["prototype", '{"prototype":1}'],
    ["deep nesting", JSON.stringify(Array.from({ length: 40 }).reduce<unknown>((inner) => ({ inner }), 1))],
    ["very deep arrays", "[".repeat(20_000) + "]".repeat(20_000)],
  ])("refuses %s as VALIDATION", async (_what, body) => {
    const err = await refusal(post(body));
    expect(err.code).toBe("VALIDATION");
    expect(err.fieldErrors?._body?.length).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a body over the limit, whatever Content-Length says, and invalid UTF-8", async () => {
    expect((await refusal(post(`{"a":"${"x".repeat(maxBodyBytes)}"}`))).message).toMatch(/larger than/);
    expect((await refusal(post(new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])))).message).toMatch(
      /UTF-8/,
    );
  });

  it("refuses anything not sent as JSON", async () => {
    expect((await refusal(post('{"a":1}', "text/plain"))).message).toMatch(/Content-Type/);
    expect((await refusal(post("a=1", "application/x-www-form-urlencoded"))).code).toBe("VALIDATION");
    expect((await refusal(post('{"a":1}', null))).code).toBe("VALIDATION");
  });
});
