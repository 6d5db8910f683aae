import Link from "next/link";

/**
 * Previous / next links that keep every other search parameter. With `total` it says "1–50 of 312"; without
 * (lists not worth counting in full) it says only the page, and `hasNext` decides the next link.
 */
export function Pagination({
  page,
  pageSize,
  total,
  hasNext,
  hrefFor,
}: {
  page: number;
  pageSize: number;
  total?: number;
  hasNext?: boolean;
  hrefFor: (page: number) => string;
}) {
  const pages = total === undefined ? null : Math.max(1, Math.ceil(total / pageSize));
  const next = pages === null ? Boolean(hasNext) : page < pages;
  const link = "rounded-md px-3 py-1.5 ring-1 ring-slate-300 hover:bg-slate-50";
  const off = "rounded-md px-3 py-1.5 text-slate-400 ring-1 ring-slate-200";
  let summary = `Page ${page}`;
  if (total !== undefined) {
    const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
    const last = Math.min(total, page * pageSize);
    summary =
      total === 0
        ? "Nothing matches."
        : first > total
          ? `Page ${page} is past the end (${total} in all).`
          : `${first}–${last} of ${total}`;
  }
  return (
    <nav aria-label="Pages" className="mt-4 flex flex-wrap items-center justify-between gap-3 text-sm">
      <p className="text-slate-600" data-testid="page-summary">
        {summary}
      </p>
      <div className="flex items-center gap-2">
        {page > 1 ? (
          <Link className={link} href={hrefFor(page - 1)} rel="prev">
            ← Previous
          </Link>
        ) : (
          <span className={off}>← Previous</span>
        )}
        {pages !== null ? (
          <span className="tabular-nums text-slate-600">
            Page {Math.min(page, pages)} of {pages}
          </span>
        ) : null}
        {next ? (
          <Link className={link} href={hrefFor(page + 1)} rel="next">
            Next →
          </Link>
        ) : (
          <span className={off}>Next →</span>
        )}
      </div>
    </nav>
  );
}
