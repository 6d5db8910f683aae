import NextAuth, { CredentialsSignin } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { derivedKey } from "@/lib/config";
import { db } from "@/lib/db/client";
import { requestInfoFrom } from "./request-info";
import { checkCredentials } from "./sign-in";

export class ThrottledSignIn extends CredentialsSignin {
  override code = "throttled";
}

declare module "next-auth" {
  interface User {
    sessionVersion?: number;
  }
}

// Lazy configuration: the key is read at request time from the data folder, not baked in at build time.
export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  secret: derivedKey("auth").toString("hex"),
  trustHost: true,
  session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
  pages: { signIn: "/sign-in" },
  logger: {
    // A refused sign-in is expected traffic (and audited); only real failures belong in the server log.
    error(error) {
      if (error instanceof CredentialsSignin) return;
      console.error("[auth]", error);
    },
  },
  providers: [
    Credentials({
      credentials: { email: {}, password: {} },
      async authorize(credentials, request) {
        const email = typeof credentials.email === "string" ? credentials.email : "";
        const password = typeof credentials.password === "string" ? credentials.password : "";
        const result = await checkCredentials(db(), { email, password }, requestInfoFrom(request.headers));
        if (!result.ok) {
          if (result.reason === "throttled") throw new ThrottledSignIn();
          return null;
        }
        return {
          id: result.user.id,
          email: result.user.email,
          name: result.user.name,
          sessionVersion: result.user.sessionVersion,
        };
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        token.sub = user.id;
        token.sv = user.sessionVersion;
      }
      return token;
    },
    session({ session, token }) {
      // Only identity travels in the token; role and status are read from the database on every request.
      return { ...session, userId: token.sub, sessionVersion: token.sv };
    },
  },
}));
