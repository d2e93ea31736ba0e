// Status of the parts the portal depends on, for GET /api/health and the start-up banner.
import { sql } from "drizzle-orm";
import type { Db } from "./db";
import { config } from "./config";
import { dockerFromEnv } from "./builder/engine/client";
import { parseRegistry } from "./registry/endpoint";

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
    timed(async () => {
      const url = `${parseRegistry(config.registryUrl).apiBase}/v2/`;
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (res.status !== 200 && res.status !== 401) throw new Error(`${url} answered ${res.status}`);
      return `OCI registry at ${config.registryUrl}`;
    }),
  ]);
  const status = !database.ok ? "down" : docker.ok && registry.ok ? "ok" : "degraded";
  return { status, database, docker, registry } as const;
}
