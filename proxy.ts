// Runs before Next.js routes any request (Next 16's proxy, on the Node.js runtime, so the database is at hand).
// 1. A server action posted from another site is refused with 403 and audited, before Next.js's own check (which
//    answers 500 and records nothing) or the action runs.
// 2. Every answer gets the protective headers, its CSP with a fresh script nonce. The nonce also goes on the
//    request's copy of the CSP: Next.js reads it there and puts it on the scripts of the page it renders (all
//    pages are rendered per request, so each gets its own).
// No matcher on purpose: static files, API routes, prefetches and errors get the headers too.
import { NextResponse, type NextRequest } from "next/server";
import { currentActor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { refuseCrossSiteAction } from "@/lib/server/cross-site-action";
import { newNonce, securityHeaders } from "@/lib/server/security-headers";

const dev = process.env.NODE_ENV === "development";

export async function proxy(request: NextRequest): Promise<Response> {
  const headers = securityHeaders({ nonce: newNonce(), dev });

  const refused = await refuseCrossSiteAction(request, { db, signedIn: currentActor });
  if (refused) {
    for (const [name, value] of Object.entries(headers)) refused.headers.set(name, value);
    return refused;
  }

  // Replaces any CSP the client sent: only ours may tell Next.js which nonce to use.
  const forwarded = new Headers(request.headers);
  forwarded.set("content-security-policy", headers["Content-Security-Policy"]);
  const response = NextResponse.next({ request: { headers: forwarded } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}
