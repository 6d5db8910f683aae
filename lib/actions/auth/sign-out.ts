"use server";

import { signOut } from "@/lib/auth/auth";

export async function signOutNow(): Promise<void> {
  await signOut({ redirectTo: "/sign-in" });
}
