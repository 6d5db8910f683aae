// Numbers as people read them. Binary units, because disks are sized in them.
const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 75 → "1 min 15 s"; null → "unknown" (a stalled transfer has no honest ETA). */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "unknown";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function percentOf(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, (done / total) * 100));
}

/** "HH:MM:SS" in UTC: identical on the server and in every browser. */
export function utcClock(iso: string | Date): string {
  const text = typeof iso === "string" ? iso : iso.toISOString();
  return text.slice(11, 19);
}

/** "YYYY-MM-DD HH:MM[:SS] UTC" (seconds only when there are any). */
export function utcText(instant: Date): string {
  return `${instant
    .toISOString()
    .slice(0, instant.getUTCSeconds() ? 19 : 16)
    .replace("T", " ")} UTC`;
}
