import Link from "next/link";

export default function NotFound() {
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
