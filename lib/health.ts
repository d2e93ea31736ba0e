// Status of the parts the portal depends on, for GET /api/health and the start-up banner.
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
