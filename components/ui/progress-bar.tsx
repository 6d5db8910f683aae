import { percentOf } from "./format";

/** A labelled bar. The label says what the numbers are; the bar is only the picture of them. */
export function ProgressBar({
  label,
  done,
  total,
  detail,
  tone = "teal",
}: {
  label: string;
  done: number;
  total: number;
  detail?: React.ReactNode;
  tone?: "teal" | "slate" | "red";
}) {
  const percent = percentOf(done, total);
  const fill = tone === "red" ? "bg-red-600" : tone === "slate" ? "bg-slate-400" : "bg-teal-600";
  return (
    <div>
      <div className="flex items-baseline justify-between gap-3 text-xs">
        <span className="truncate font-medium text-slate-700">{label}</span>
        <span className="shrink-0 tabular-nums text-slate-600">{percent.toFixed(0)}%</span>
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(percent)}
        className="mt-1 h-2 overflow-hidden rounded-full bg-slate-200"
      >
        <div
          className={`h-full rounded-full ${fill} transition-[width] duration-500`}
          style={{ width: `${percent}%` }}
        />
      </div>
      {detail ? <div className="mt-1 text-xs tabular-nums text-slate-600">{detail}</div> : null}
    </div>
  );
}
