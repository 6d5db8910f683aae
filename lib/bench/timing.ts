// Wall-clock timing of one step.

export interface Timed<T> {
  value: T;
  seconds: number;
}

export async function timed<T>(step: () => Promise<T>): Promise<Timed<T>> {
  const started = process.hrtime.bigint();
  const value = await step();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
