export function NotPermitted({ what }: { what: string }) {
  return (
    <div role="alert" className="rounded-lg border border-amber-300 bg-amber-50 px-6 py-8">
      <h1 className="text-lg font-semibold text-amber-900">Not permitted</h1>
      <p className="mt-1 text-sm text-amber-900">Your role may not open {what}. Ask an admin if you need it.</p>
    </div>
  );
}
