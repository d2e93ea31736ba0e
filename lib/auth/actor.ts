// Who is asking: a signed-in user (session or API token) with their organisation, role and scopes.
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { apiTokens, orgs, users, type Role } from "../db/schema";
import { UnauthenticatedError } from "../errors";
import { SCOPES, scopesOfRole, type Scope } from "./scopes";

export interface Actor {
  user: { id: string; email: string; name: string; role: Role };
  org: { id: string; name: string; slug: string };
  via: "session" | "token";
  tokenId?: string;
  /** What this actor may do: a token's own scopes (within its user's role), or everything the role allows for a session. */
  scopes: Scope[];
}

const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** Loads the user behind a session or token fresh from the database, so role changes and deletions apply at once. */
export async function loadActor(db: DbOrTx, userId: string, via: Actor["via"], tokenId?: string): Promise<Actor> {
  const [row] = await db
    .select({
      user: { id: users.id, email: users.email, name: users.name, role: users.role },
      org: { id: orgs.id, name: orgs.name, slug: orgs.slug },
      tokenScopes: apiTokens.scopes,
    })
    .from(users)
    .innerJoin(orgs, eq(orgs.id, users.orgId))
    .leftJoin(apiTokens, and(eq(apiTokens.id, tokenId ?? "00000000-0000-0000-0000-000000000000"), eq(apiTokens.userId, users.id)))
    .where(eq(users.id, userId));
  if (!row) throw new UnauthenticatedError("Your account no longer exists; sign in again.");
  const allowed = scopesOfRole(row.user.role);
  // A token keeps its scopes only while its user's role allows them (an admin made customer loses "admin" at once).
  const scopes = via === "token" ? (row.tokenScopes ?? []).filter(isScope).filter((s) => allowed.includes(s)) : allowed;
  return { user: row.user, org: row.org, via, tokenId, scopes };
}
