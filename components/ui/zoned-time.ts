// Wall-clock time in IANA zones, for display and for previewing what a datetime-local input means. The
// engine resolves switch times authoritatively (refusing skipped or repeated local times); this only previews.

export function formatInZone(instant: Date, timeZone: string, withSeconds = false): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  const seconds = withSeconds ? `:${part("second")}` : "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}${seconds}`;
}

/** "YYYY-MM-DDTHH:mm[:ss]" for a datetime-local input showing `instant` in `timeZone` (seconds only when set). */
export function toLocalInputValue(instant: Date, timeZone: string): string {
  return formatInZone(instant, timeZone, instant.getUTCSeconds() !== 0).replace(" ", "T");
}

function wallClockMs(instant: number, timeZone: string): number {
  return Date.parse(`${formatInZone(new Date(instant), timeZone, true).replace(" ", "T")}Z`);
}

/** The UTC instant a local date-time in a zone most likely means; null when it cannot be read. */
export function previewUtc(local: string, timeZone: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return null;
  const wanted = Date.parse(`${local.length === 16 ? `${local}:00` : local}Z`);
  if (Number.isNaN(wanted)) return null;
  try {
    // Converge on the zone's offset at that moment (two rounds settle every real-world offset change).
    let instant = wanted;
    for (let i = 0; i < 3; i++) instant = wanted - (wallClockMs(instant, timeZone) - instant);
    return new Date(instant);
  } catch {
    return null;
  }
}

/** Every IANA zone this runtime knows, with UTC first. */
export function knownTimeZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return ["UTC", ...zones.filter((z) => z !== "UTC")];
}
