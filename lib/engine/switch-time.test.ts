import { describe, expect, it } from "vitest";
import { resolveSwitchTime } from "./switch-time";

const now = new Date("2026-03-01T00:00:00Z");

describe("scheduled switch time", () => {
  it("turns a local time in a zone into its UTC instant", () => {
    expect(resolveSwitchTime("2026-06-15T22:30", "Europe/Berlin", now)).toEqual({
      ok: true,
      instant: new Date("2026-06-15T20:30:00Z"),
      timeZone: "Europe/Berlin",
    });
    expect(resolveSwitchTime("2026-12-01T09:00", "America/New_York", now)).toMatchObject({
      instant: new Date("2026-12-01T14:00:00Z"),
    });
    expect(resolveSwitchTime("2026-07-01T05:45:30", "Asia/Kathmandu", now)).toMatchObject({
      instant: new Date("2026-07-01T00:00:30Z"),
    });
    expect(resolveSwitchTime("2026-04-01T12:00", "UTC", now)).toMatchObject({
      instant: new Date("2026-04-01T12:00:00Z"),
    });
  });

  it("refuses the hour the clocks skip, and the hour they repeat", () => {
    // Europe/Berlin: 2026-03-29 02:00 → 03:00; 2026-10-25 03:00 → 02:00.
    expect(resolveSwitchTime("2026-03-29T02:30", "Europe/Berlin", now)).toMatchObject({
      ok: false,
      error: { code: "NONEXISTENT_LOCAL_TIME" },
    });
    const ambiguous = resolveSwitchTime("2026-10-25T02:30", "Europe/Berlin", now);
    expect(ambiguous).toMatchObject({ ok: false, error: { code: "AMBIGUOUS_LOCAL_TIME" } });
    if (!ambiguous.ok && ambiguous.error.code === "AMBIGUOUS_LOCAL_TIME") {
      expect(ambiguous.error.candidates.map((d) => d.toISOString())).toEqual([
        "2026-10-25T00:30:00.000Z",
        "2026-10-25T01:30:00.000Z",
      ]);
    }
    expect(resolveSwitchTime("2026-03-29T03:00", "Europe/Berlin", now)).toMatchObject({
      ok: true,
      instant: new Date("2026-03-29T01:00:00Z"),
    });
  });

  it("refuses unknown zones, malformed or impossible dates, and the past", () => {
    expect(resolveSwitchTime("2026-06-15T22:30", "Mars/Olympus", now)).toMatchObject({
      ok: false,
      error: { code: "UNKNOWN_ZONE" },
    });
    expect(resolveSwitchTime("15/06/2026 22:30", "UTC", now)).toMatchObject({
      ok: false,
      error: { code: "INVALID_FORMAT" },
    });
    expect(resolveSwitchTime("2026-02-30T10:00", "UTC", now)).toMatchObject({
      ok: false,
      error: { code: "INVALID_FORMAT" },
    });
    expect(resolveSwitchTime("2026-06-15T24:10", "UTC", now)).toMatchObject({
      ok: false,
      error: { code: "INVALID_FORMAT" },
    });
    expect(resolveSwitchTime("2026-02-28T23:59", "UTC", now)).toMatchObject({
      ok: false,
      error: { code: "IN_THE_PAST" },
    });
  });
});
