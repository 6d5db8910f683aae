import type { ActionResult } from "@/lib/errors";

/** The outcome line of a form: what happened, or what went wrong and what to do. */
export function FormMessage({ result }: { result: ActionResult<unknown> | null | undefined }) {
  if (!result) return null;
  if (result.ok) {
    return result.message ? (
      <p role="status" className="rounded-md bg-teal-50 px-3 py-2 text-sm text-teal-900">
        {result.message}
      </p>
    ) : null;
  }
  return (
    <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
      {result.message}
    </p>
  );
}
