"use client";

import { formatRate, utcClock } from "@/components/ui/format";
import type { RateSample } from "./live-state";
import { useSessionLive } from "./session-live";

const WIDTH = 600;
const HEIGHT = 140;
const PAD = { left: 8, right: 8, top: 10, bottom: 18 };
const colors = ["#0f766e", "#0369a1", "#b45309", "#7c3aed", "#be123c", "#4d7c0f"];
/** A pause longer than this between two reports of one step breaks its line (the worker was held up). */
const GAP_MS = 5_000;

/** One line per step and VM: the rate of a transfer and of the verification after it are different things. */
function segments(samples: RateSample[]): RateSample[][] {
  const out: RateSample[][] = [];
  let current: RateSample[] = [];
  for (const s of samples) {
    const last = current.at(-1);
    if (last && (s.stepId !== last.stepId || s.at - last.at > GAP_MS)) {
      out.push(current);
      current = [];
    }
    current.push(s);
  }
  if (current.length) out.push(current);
  return out;
}

/** Transfer and verification rate over time, one line per VM, as the workers reported it. */
export function ThroughputChart() {
  const { state, vmNames } = useSessionLive();
  const samples = state.rates;
  if (samples.length === 0) {
    return (
      <p className="text-sm text-slate-600">No transfer or verification has reported its rate in this session yet.</p>
    );
  }
  const start = samples[0]?.at ?? 0;
  const end = Math.max(samples.at(-1)?.at ?? start, start + 10_000);
  const peak = Math.max(...samples.map((s) => s.rate), 1);
  const x = (t: number) => PAD.left + ((t - start) / (end - start)) * (WIDTH - PAD.left - PAD.right);
  const y = (r: number) => PAD.top + (1 - r / peak) * (HEIGHT - PAD.top - PAD.bottom);
  const items = [...new Set(samples.map((s) => s.itemId))];
  const latest = samples.at(-1);
  return (
    <figure data-testid="throughput-chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="h-36 w-full"
        role="img"
        aria-label={`Throughput over time, peak ${formatRate(peak)}`}
        preserveAspectRatio="none"
      >
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} stroke="#cbd5e1" strokeWidth={1} />
        <line
          x1={PAD.left}
          x2={WIDTH - PAD.right}
          y1={y(peak)}
          y2={y(peak)}
          stroke="#e2e8f0"
          strokeDasharray="4 4"
          strokeWidth={1}
        />
        {items.map((itemId, i) =>
          segments(samples.filter((s) => s.itemId === itemId)).map((segment, j) => {
            const color = colors[i % colors.length];
            const [only] = segment;
            if (segment.length === 1 && only)
              return <circle key={`${itemId}-${j}`} cx={x(only.at)} cy={y(only.rate)} r={3} fill={color} />;
            return (
              <polyline
                key={`${itemId}-${j}`}
                fill="none"
                stroke={color}
                strokeWidth={2}
                vectorEffect="non-scaling-stroke"
                points={segment.map((s) => `${x(s.at).toFixed(1)},${y(s.rate).toFixed(1)}`).join(" ")}
              />
            );
          }),
        )}
      </svg>
      <figcaption className="mt-1 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-600">
        <span>Peak {formatRate(peak)}</span>
        {latest ? (
          <span>
            Latest {formatRate(latest.rate)} at {utcClock(new Date(latest.at))} UTC
          </span>
        ) : null}
        {items.map((itemId, i) => (
          <span key={itemId} className="inline-flex items-center gap-1">
            <span
              aria-hidden
              className="inline-block h-2 w-3 rounded-sm"
              style={{ background: colors[i % colors.length] }}
            />
            {vmNames[itemId] ?? "VM"}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
