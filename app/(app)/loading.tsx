export default function Loading() {
  return (
    <div aria-busy="true" className="animate-pulse space-y-4">
      <div className="h-7 w-48 rounded bg-slate-200" />
      <div className="h-4 w-80 max-w-full rounded bg-slate-200" />
      <div className="h-40 rounded-lg bg-slate-100" />
      <span className="sr-only">Loading…</span>
    </div>
  );
}
