// Summaries of repeated measurements. A shared 2-core machine makes single runs noisy: the median says what a
// run typically costs, min and max how far one run strayed.

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    samples: [...values],
  };
}

/** Rounded to `digits` decimals, for JSON that people read. */
export const roundTo = (n: number, digits = 3) => Number(n.toFixed(digits));

/** A summary in milliseconds, rounded to 0.1 ms (the input is in seconds). */
export function summaryMs(s: Summary): { median_ms: number; min_ms: number; max_ms: number; samples_ms: number[] } {
  const ms = (x: number) => roundTo(x * 1000, 1);
  return { median_ms: ms(s.median), min_ms: ms(s.min), max_ms: ms(s.max), samples_ms: s.samples.map(ms) };
}
