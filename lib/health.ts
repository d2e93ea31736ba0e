// Status of the parts the portal depends on: the details (versions, errors) for admins, a cached one-word status for
// GET /api/health, which anyone may ask and load balancers ask often.
import { sql } from "drizzle-orm";
import type { Db } from "./db";
import { config } from "./config";
import { dockerFromEnv } from "./builder/engine/client";
import { RegistryClient } from "./registry/client";

export interface PartStatus {
  ok: boolean;
  detail: string;
  latencyMs: number;
}

async function timed(check: () => Promise<string>, timeoutMs = 3000): Promise<PartStatus> {
  const started = Date.now();
  try {
    const detail = await Promise.race([
      check(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true, detail, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, detail: (err as Error).message, latencyMs: Date.now() - started };
  }
}

/** The registry as workers reach it, signed in as they are: a registry that refuses our credentials is not healthy. */
async function registryStatus(): Promise<PartStatus> {
  try {
    return await new RegistryClient(config.registryUrl, { timeoutMs: 3000 }).health();
  } catch (err) {
    // The client's constructor reads credentials; a broken ~/.docker/config.json lands here.
    return { ok: false, detail: (err as Error).message, latencyMs: 0 };
  }
}

export async function checkHealth(db: Db) {
  const [database, docker, registry] = await Promise.all([
    timed(async () => {
      const result = await db.execute(sql`select current_setting('server_version') as version`);
      return `PostgreSQL ${(result.rows[0] as { version: string }).version}`;
    }),
    timed(async () => {
      const version = await dockerFromEnv().version();
      return `Docker Engine ${version.Version}`;
    }),
    registryStatus(),
  ]);
  const status = !database.ok ? "down" : docker.ok && registry.ok ? "ok" : "degraded";
  return { status, database, docker, registry } as const;
}

export type HealthStatus = Awaited<ReturnType<typeof checkHealth>>["status"];

/** The check the public status runs; an object so tests can count its calls. */
export const healthChecks = { run: checkHealth };

/** How long the public status is reused: a flood of requests costs one check per period. */
export const PUBLIC_HEALTH_TTL_MS = 5_000;

let cachedStatus: { at: number; status: Promise<HealthStatus> } | null = null;

/**
 * The one-word status for anyone: ok, degraded (Docker or the registry unreachable) or down (no database). Checked at
 * most once per PUBLIC_HEALTH_TTL_MS; requests during a check share it.
 */
export function publicHealth(db: Db, now = Date.now()): Promise<HealthStatus> {
  if (cachedStatus && now - cachedStatus.at < PUBLIC_HEALTH_TTL_MS) return cachedStatus.status;
  const status = healthChecks.run(db).then(
    (health) => health.status,
    (): HealthStatus => "down",
  );
  cachedStatus = { at: now, status };
  return status;
}

/** Forgets the cached public status (tests). */
export function resetPublicHealth(): void {
  cachedStatus = null;
}
