// A scheduled switch is entered as a local date-time in an IANA zone and stored as a UTC instant plus that
// zone. Local times that do not exist (the hour skipped when clocks go forward) or exist twice (the hour
// repeated when they go back) are refused with a clear reason instead of being guessed.
export type SwitchTimeError =
  | { code: "INVALID_FORMAT"; message: string }
  | { code: "UNKNOWN_ZONE"; message: string }
  | { code: "NONEXISTENT_LOCAL_TIME"; message: string }
  | { code: "AMBIGUOUS_LOCAL_TIME"; message: string; candidates: Date[] }
  | { code: "IN_THE_PAST"; message: string };

/** Which input a refused switch time is about: the zone, or the local date-time. */
export function switchTimeErrorField(error: SwitchTimeError): "timeZone" | "local" {
  return error.code === "UNKNOWN_ZONE" ? "timeZone" : "local";
}

export type SwitchTimeResult = { ok: true; instant: Date; timeZone: string } | { ok: false; error: SwitchTimeError };

const localPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

function formatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** The wall-clock fields of an instant in a zone, as if they were UTC (milliseconds). */
function wallClockAsUtc(instant: number, zone: Intl.DateTimeFormat): number {
  const parts = Object.fromEntries(zone.formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  return Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
}

export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return timeZone.length > 0;
  } catch {
    return false;
  }
}

/**
 * `local` is "YYYY-MM-DDTHH:MM[:SS]" as a datetime-local input gives it. `now` is injectable for tests.
 */
export function resolveSwitchTime(local: string, timeZone: string, now: Date = new Date()): SwitchTimeResult {
  const match = localPattern.exec(local);
  if (!match)
    return { ok: false, error: { code: "INVALID_FORMAT", message: "Enter the date and time as YYYY-MM-DDTHH:MM." } };
  if (!isKnownTimeZone(timeZone))
    return {
      ok: false,
      error: {
        code: "UNKNOWN_ZONE",
        message: `${timeZone} is not a known time zone (use an IANA name such as Europe/Berlin).`,
      },
    };
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const wanted = Date.UTC(
    y as number,
    (mo as number) - 1,
    d as number,
    h as number,
    mi as number,
    Number.isNaN(s) ? 0 : (s as number),
  );
  if (
    new Date(wanted).getUTCMonth() !== (mo as number) - 1 ||
    new Date(wanted).getUTCDate() !== d ||
    (h as number) > 23 ||
    (mi as number) > 59
  ) {
    return { ok: false, error: { code: "INVALID_FORMAT", message: `${local} is not a calendar date and time.` } };
  }
  const zone = formatter(timeZone);
  // The zone's offset is somewhere within a day of the naive guess; try the offsets on either side of it.
  const candidates = new Set<number>();
  for (const probe of [wanted - 86_400_000, wanted, wanted + 86_400_000]) {
    const offset = wallClockAsUtc(probe, zone) - probe;
    const instant = wanted - offset;
    if (wallClockAsUtc(instant, zone) === wanted) candidates.add(instant);
  }
  const instants = [...candidates].sort((a, b) => a - b).map((t) => new Date(t));
  if (instants.length === 0) {
    return {
      ok: false,
      error: {
        code: "NONEXISTENT_LOCAL_TIME",
        message: `${local} does not exist in ${timeZone} (the clocks skip that hour); choose another time.`,
      },
    };
  }
  if (instants.length > 1) {
    return {
      ok: false,
      error: {
        code: "AMBIGUOUS_LOCAL_TIME",
        message: `${local} happens twice in ${timeZone} (the clocks repeat that hour); choose a time outside it.`,
        candidates: instants,
      },
    };
  }
  const instant = instants[0] as Date;
  if (instant.getTime() <= now.getTime()) {
    return {
      ok: false,
      error: { code: "IN_THE_PAST", message: `${local} ${timeZone} (${instant.toISOString()}) is in the past.` },
    };
  }
  return { ok: true, instant, timeZone };
}
