// Who is calling the API: a user, through one of their API tokens or through the browser's sign-in cookie.
import type { UserRole } from "@/lib/db/schema";

export interface ApiPrincipal {
  userId: string;
  email: string;
  /** The user's role as the database says now (read on this request), never as it was when a token was made. */
  role: UserRole;
  via: "token" | "cookie";
  /** The token used (via "token"): an open stream re-checks that it is still live. */
  tokenId: string | null;
  tokenPrefix: string | null;
  /** The user's session version when authenticated: a bump (disabled, re-enabled) ends cookie-based streams. */
  sessionVersion: number;
  clientIp: string;
  userAgent: string;
}
