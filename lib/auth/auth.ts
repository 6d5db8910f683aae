import NextAuth, { CredentialsSignin } from "next-auth";
import { encode } from "next-auth/jwt";
import Credentials from "next-auth/providers/credentials";
import { derivedKey } from "@/lib/config";
import { db } from "@/lib/db/client";
import { findLiveAuthSession, insertAuthSession, revokeAuthSession } from "@/lib/db/queries/auth-sessions";
import { requestInfoFrom } from "./request-info";
import { safeNext } from "./safe-next";
import { secondsLeft, sessionLifetimeSeconds } from "./session-lifetime";
import { checkCredentials } from "./sign-in";

export class ThrottledSignIn extends CredentialsSignin {
  override code = "throttled";
}

declare module "next-auth" {
  interface User {
    sessionVersion?: number;
    /** The sign-in's row in auth_sessions, made when the password was accepted. */
    authSessionId?: string;
    /** When the password was accepted (epoch seconds): the sign-in ends a fixed time after, however renewed. */
    signedInAt?: number;
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    sv?: number;
    sid?: string;
    signedInAt?: number;
  }
}

/** An expired cookie is expected traffic (its sign-in is simply over), not a server fault worth a log line. */
function isExpiredToken(error: Error): boolean {
  const cause = error.cause as { err?: { code?: unknown } } | undefined;
  return error.name === "JWTSessionError" && cause?.err?.code === "ERR_JWT_EXPIRED";
}

// Lazy configuration: the key is read at request time from the data folder, not baked in at build time.
export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  secret: derivedKey("auth").toString("hex"),
  trustHost: true,
  session: { strategy: "jwt", maxAge: sessionLifetimeSeconds },
  jwt: {
    // Auth.js re-issues the token on every read for another maxAge; the token itself never outlives its sign-in.
    async encode(params) {
      const signedInAt = params.token?.signedInAt;
      if (typeof signedInAt !== "number") return encode(params);
      return encode({ ...params, maxAge: Math.min(params.maxAge ?? sessionLifetimeSeconds, secondsLeft(signedInAt)) });
    },
  },
  pages: { signIn: "/sign-in" },
  logger: {
    // A refused sign-in is expected traffic (and audited); only real failures belong in the server log.
    error(error) {
      if (error instanceof CredentialsSignin || isExpiredToken(error)) return;
      console.error("[auth]", error);
    },
  },
  providers: [
    Credentials({
      credentials: { email: {}, password: {} },
      async authorize(credentials, request) {
        const email = typeof credentials.email === "string" ? credentials.email : "";
        const password = typeof credentials.password === "string" ? credentials.password : "";
        const info = requestInfoFrom(request.headers);
        const result = await checkCredentials(db(), { email, password }, info);
        if (!result.ok) {
          if (result.reason === "throttled") throw new ThrottledSignIn();
          return null;
        }
        // Whole seconds, so the row's end and the token's end are the same instant.
        const signedInAt = Math.floor(Date.now() / 1000);
        const session = await insertAuthSession(db(), {
          userId: result.user.id,
          createdAt: new Date(signedInAt * 1000),
          expiresAt: new Date((signedInAt + sessionLifetimeSeconds) * 1000),
          clientIp: info.clientIp,
          userAgent: info.userAgent,
        });
        return {
          id: result.user.id,
          email: result.user.email,
          name: result.user.name,
          sessionVersion: result.user.sessionVersion,
          authSessionId: session.id,
          signedInAt,
        };
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user) {
        token.sub = user.id;
        token.sv = user.sessionVersion;
        token.sid = user.authSessionId;
        token.signedInAt = user.signedInAt;
        return token;
      }
      // A read of the session (which renews the cookie): a sign-in that is over, signed out or unknown is not
      // renewed — Auth.js then clears the cookie instead.
      if (typeof token.sid !== "string" || secondsLeft(token.signedInAt) === 0) return null;
      if (!(await findLiveAuthSession(db(), token.sid, new Date()))) return null;
      return token;
    },
    session({ session, token }) {
      // Only identity travels in the token; role and status are read from the database on every request.
      return { ...session, userId: token.sub, sessionVersion: token.sv, authSessionId: token.sid };
    },
    // Every redirect Auth.js makes (after signing in or out) goes to a path of this site, never elsewhere.
    redirect({ url, baseUrl }) {
      return baseUrl + safeNext(url.startsWith(baseUrl) ? url.slice(baseUrl.length) : url);
    },
  },
  events: {
    // Signing out through Auth.js's own endpoint ends the sign-in on the server too (the app's sign-out action
    // revokes it itself; revoking twice changes nothing).
    async signOut(message) {
      const sid = "token" in message ? message.token?.sid : undefined;
      if (typeof sid === "string") await revokeAuthSession(db(), sid);
    },
  },
}));
