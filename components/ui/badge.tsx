const tones = {
  slate: "bg-slate-100 text-slate-700 ring-slate-300",
  teal: "bg-teal-50 text-teal-800 ring-teal-600/30",
  amber: "bg-amber-50 text-amber-800 ring-amber-600/30",
  blue: "bg-sky-50 text-sky-800 ring-sky-600/30",
  red: "bg-red-50 text-red-800 ring-red-600/30",
} as const;

export type BadgeTone = keyof typeof tones;

export function Badge({ tone = "slate", children }: { tone?: BadgeTone; children: React.ReactNode }) {
  return (
    <span
      className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}
    >
      {children}
    </span>
  );
}
