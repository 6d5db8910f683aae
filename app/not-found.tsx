import Link from "next/link";
import { connection } from "next/server";

/**
 * Rendered per request, not prerendered: the Content-Security-Policy lets only scripts with this response's nonce
 * run, and a page built ahead of time carries no nonce (it would show, but never hydrate).
 */
export default async function NotFound() {
  await connection();
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="text-center">
        <h1 className="text-xl font-semibold">Page not found</h1>
        <p className="mt-2 text-sm text-slate-600">The page you asked for does not exist.</p>
        <Link href="/" className="mt-4 inline-block text-sm font-medium text-teal-800 hover:underline">
          Back to the overview
        </Link>
      </div>
    </main>
  );
}
