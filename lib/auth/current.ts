// The actor of a page render (server components), from the session cookie.
import { getServerSession } from "next-auth/next";
import { redirect } from "next/navigation";
import { getDb } from "../db";
import type { Role } from "../db/schema";
import { loadActor, type Actor } from "./actor";
import { authOptions } from "./next-auth";
import { hasRole } from "./roles";

export async function currentActor(): Promise<Actor | null> {
  const session = (await getServerSession(authOptions())) as { userId?: string } | null;
  if (!session?.userId) return null;
  try {
    return await loadActor(getDb(), session.userId, "session");
  } catch {
    return null;
  }
}

/** For pages: the actor, or a redirect to sign-in; a customer on an admin page gets the forbidden page. */
export async function requirePageActor(role: Role = "customer"): Promise<Actor> {
  const actor = await currentActor();
  if (!actor) redirect("/sign-in");
  if (!hasRole(actor, role)) redirect("/forbidden");
  return actor;
}
