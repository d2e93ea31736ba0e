// Who is asking: a signed-in user (session or API token) with their organisation and role.
import { eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { orgs, users, type Role } from "../db/schema";
import { UnauthenticatedError } from "../errors";

export interface Actor {
  user: { id: string; email: string; name: string; role: Role };
  org: { id: string; name: string; slug: string };
  via: "session" | "token";
  tokenId?: string;
}

/** Loads the user behind a session or token fresh from the database, so role changes and deletions apply at once. */
export async function loadActor(db: DbOrTx, userId: string, via: Actor["via"], tokenId?: string): Promise<Actor> {
  const [row] = await db
    .select({
      user: { id: users.id, email: users.email, name: users.name, role: users.role },
      org: { id: orgs.id, name: orgs.name, slug: orgs.slug },
    })
    .from(users)
    .innerJoin(orgs, eq(orgs.id, users.orgId))
    .where(eq(users.id, userId));
  if (!row) throw new UnauthenticatedError("Your account no longer exists; sign in again.");
  return { ...row, via, tokenId };
}
