// next-auth's own endpoints (session, CSRF token, callback). Sign-in is checked and throttled in lib/auth.
import { handlers } from "@/lib/auth/auth";

export const { GET, POST } = handlers;
