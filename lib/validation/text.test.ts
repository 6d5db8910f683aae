// Text and URL values as the product takes them: control characters refused in fields, dropped from searches;
// page numbers and row ids from a URL clamped to what PostgreSQL can take.
import { describe, expect, it } from "vitest";
import { describeError } from "@/lib/errors";
import { freeText, pageNumber, rowId, searchText, singleLine } from "./text";

describe("text fields", () => {
  it.each(["\u0000", "a\u0000b", "bell\u0007", "esc\u001b[0m", "del\u007f", "tab\there", "line\nbreak"])(
    "a single line refuses %j",
    (value) => {
      expect(singleLine(100).safeParse(value).success).toBe(false);
    },
  );

  it("free text keeps line breaks and tabs but refuses the other control characters", () => {
    expect(freeText(100).safeParse("first line\nsecond\tline\r\n").success).toBe(true);
    expect(freeText(100).safeParse("nul\u0000").success).toBe(false);
    expect(freeText(100).safeParse("bell\u0007").success).toBe(false);
  });

  it("takes ordinary text, accents and emoji", () => {
    expect(singleLine(100).safeParse("Café — DR test ✓ 🚀").success).toBe(true);
  });
});

describe("values from a URL", () => {
  it("clamps page numbers", () => {
    expect(pageNumber("3")).toBe(3);
    for (const raw of [undefined, "", "0", "-2", "1e23", "1.5", "abc", "100000000000000000000"]) {
      expect([raw, pageNumber(raw)]).toEqual([raw, 1]);
    }
    expect(pageNumber("999999999")).toBe(10_000);
  });

  it("takes only row ids PostgreSQL's bigint can hold", () => {
    expect(rowId("42")).toBe(42);
    for (const raw of [undefined, "", "0", "-1", "1e20", "100000000000000000000", "12abc"])
      expect(rowId(raw)).toBeUndefined();
  });

  it("drops control characters from a search", () => {
    expect(searchText("\u0000")).toBeUndefined();
    expect(searchText("web\u0000-01 ")).toBe("web-01");
    expect(searchText("x".repeat(500))).toHaveLength(100);
  });
});

describe("errors in logs", () => {
  it("never carry a failed query's text or parameters", () => {
    const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    const failed = Object.assign(new Error(`Failed query: insert into users values ($1, $2)\nparams: a@b.c,${hash}`), {
      query: "insert into users values ($1, $2)",
      params: ["a@b.c", hash],
      cause: Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: "22021" }),
    });
    const described = describeError(failed, { withStack: true });
    expect(described).toContain("database query failed (22021)");
    expect(described).not.toContain("argon2id");
    expect(described).not.toContain("insert into users");
    expect(described).not.toContain("a@b.c");
  });
});
