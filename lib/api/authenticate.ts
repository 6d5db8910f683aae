// Who is calling: `Authorization: Bearer <token>` first, else the browser's sign-in cookie, else nobody.
import { requestInfoFrom } from "@/lib/auth/request-info";
import type { Db } from "@/lib/db/client";
import { authenticateCookie, signInMessage } from "./cookie-auth";
import { presentedCredentials } from "./credentials";
import { ApiDenial } from "./denial";
import type { ApiPrincipal } from "./principal";
import { authenticateToken } from "./token-auth";

export async function authenticate(db: Db, request: Request): Promise<ApiPrincipal> {
  const info = requestInfoFrom(request.headers);
  const presented = presentedCredentials(request);
  switch (presented.kind) {
    case "bearer":
      return authenticateToken(db, presented.token, info);
    case "malformed":
      throw new ApiDenial(
        "UNAUTHENTICATED",
        "Send the API token as `Authorization: Bearer <token>`.",
        "malformed Authorization header",
      );
    case "cookie":
      return authenticateCookie(db, request, info);
    case "none":
      throw new ApiDenial("UNAUTHENTICATED", signInMessage, "no credentials");
  }
}
