// The audit log: who did what, when, and what it was before and after. Written in the transaction of the change.
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { auditLog, orgs, users } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { BadRequestError } from "../errors";

export interface AuditEntry {
  action: string;
  subject?: string | null;
  channelId?: string | null;
  /** Org of the change; the actor's when left out (a device or the system has no actor). */
  orgId?: string;
  before?: unknown;
  after?: unknown;
  detail?: Record<string, unknown>;
}

/** Records one change; `actor` null for changes a device or Strata itself made (registration, an automatic halt). */
export async function recordAudit(tx: DbOrTx, actor: Actor | null, entry: AuditEntry): Promise<void> {
  const detail: Record<string, unknown> = { ...entry.detail };
  if (entry.before !== undefined) detail.before = entry.before;
  if (entry.after !== undefined) detail.after = entry.after;
  await tx.insert(auditLog).values({
    orgId: entry.orgId ?? actor?.org.id ?? null,
    actorUserId: actor?.user.id ?? null,
    action: entry.action,
    subject: entry.subject ?? null,
    channelId: entry.channelId ?? null,
    detail,
  });
}

export interface AuditRow {
  id: number;
  at: Date;
  action: string;
  subject: string | null;
  channelId: string | null;
  orgId: string | null;
  orgName: string | null;
  actor: string | null;
  detail: Record<string, unknown> | null;
}

const ListAuditInput = z.object({
  channelId: z.uuid("channel must be a channel id").optional(),
  before: z.coerce.number().int().positive("before must be an audit entry id").optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Newest first, keyset-paged by id; customers see their organisation's entries, admins every organisation's. */
export async function listAudit(db: DbOrTx, actor: Actor, input: { channelId?: string; before?: number | string; limit?: number | string } = {}) {
  const parsed = ListAuditInput.safeParse(input);
  if (!parsed.success) throw new BadRequestError(parsed.error.issues.map((i) => i.message).join("; "));
  const { channelId, before, limit } = parsed.data;
  const rows = await db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      action: auditLog.action,
      subject: auditLog.subject,
      channelId: auditLog.channelId,
      orgId: auditLog.orgId,
      orgName: orgs.name,
      actor: sql<string | null>`coalesce(${users.email}, case when ${auditLog.actorUserId} is null then null else 'deleted user' end)`,
      detail: auditLog.detail,
    })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorUserId))
    .leftJoin(orgs, eq(orgs.id, auditLog.orgId))
    .where(and(orgScope(actor, auditLog.orgId), channelId ? eq(auditLog.channelId, channelId) : undefined, before ? lt(auditLog.id, before) : undefined))
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const more = rows.length > limit;
  const entries = (more ? rows.slice(0, limit) : rows) as AuditRow[];
  return { entries, next: more ? entries[entries.length - 1].id : null };
}
