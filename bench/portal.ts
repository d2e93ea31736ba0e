// Benchmark of the portal's lists at the size of a busy organisation: `npm run bench:portal` (BENCH_SMOKE=1 checks the
// bench itself with a tenth of the data and fewer requests).
//
// It starts PostgreSQL and the web server only (stack.ts: a fresh embedded PostgreSQL and `scripts/web.ts` with
// NODE_ENV=production; no Docker, registry or worker; data in .data/bench/run-<nonce>, deleted at the end), and loads,
// with SQL in bulk (not through the API: the bench measures reading, not writing), one organisation holding 1,000
// flavours and 10,000 builds, 5,000 of them on one flavour whose history has 500 revisions and whose repository has 500
// (one per successful build), plus 300 devices and 2,000 audit entries; and 1,000 more organisations for an admin's
// list. A second organisation holds one flavour with 10 builds: the baseline, the same pages with almost no data,
// measured in the same run (for the admin's organisation list: the same list searched down to one organisation).
// Each page (signed in with a session cookie, through next-auth's own credentials sign-in) and API list (with a bearer
// token) is asked 50 times one after the other, then 48 times with 4 requests in flight; p50 and p95 of each are
// printed, with the ratio to the baseline's p50 and PASS/MISS against p50 < 150 ms (sequential). GET /api/health is
// printed too, as the floor of a request. The size of /flavours' HTML is printed (it was 1.5 MB with every flavour).
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { eq, sql } from "drizzle-orm";
import { createDb } from "@/lib/db";
import { channels, users } from "@/lib/db/schema";
import { signUp } from "@/lib/auth/sign-up";
import { loadActor } from "@/lib/auth/actor";
import { createToken } from "@/lib/auth/tokens";
import { listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { createFlavour } from "@/lib/flavours/flavours";
import { runBench, startDatabase, startPortal, type Teardown } from "./stack";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const SMOKE = process.env.BENCH_SMOKE === "1";
const SCALE = SMOKE ? 10 : 1;
const FLAVOURS = 1_000 / SCALE;
const BIG_BUILDS = 5_000 / SCALE;
const OTHER_BUILDS = 5_000 / SCALE;
const REVISIONS = 500 / SCALE;
const DEVICES = 300 / SCALE;
const AUDIT = 2_000 / SCALE;
/** Repository revisions of the busy flavour (one per successful build), and organisations the admin lists. */
const REPOSITORY_REVISIONS = 500 / SCALE;
const ORGS = 1_000 / SCALE;
const SEQUENTIAL = SMOKE ? 10 : 50;
const CONCURRENT = SMOKE ? 8 : 48;
const IN_FLIGHT = 4;
const TARGET_P50_MS = 150;
const runDir = path.resolve(".data/bench", `run-${nonce}`);
const log = (msg: string) => console.log(`[bench] ${msg}`);
const PASSWORD = `Bench-${randomBytes(12).toString("base64url")}-9z`;

interface Tenant {
  email: string;
  orgId: string;
  userId: string;
  token: string;
  flavourId: string;
  channelId: string;
}

/** A new organisation with a user (known password), a bearer token and one flavour made as a user would. */
async function tenant(db: ReturnType<typeof createDb>["db"], label: string): Promise<Tenant> {
  const email = `bench-${nonce}-${label}@bench.strata.test`;
  const { userId } = await signUp(db, { email, name: `Bench ${label}`, organisation: `Bench ${nonce} ${label}`, password: PASSWORD });
  const actor = await loadActor(db, userId, "session");
  const token = (await createToken(db, actor, { name: `bench ${label}` })).token;
  const base = (await listBaseManifests(db)).filter((b) => b.name === "strata-base").sort((a, b) => Number(b.version) - Number(a.version))[0];
  const flavour = await createFlavour(db, actor, { baseManifestId: base.id, name: `${label}-main`, description: "The flavour with the most builds" });
  const [stable] = await db.select({ id: channels.id }).from(channels).where(eq(channels.flavourId, flavour.id)).orderBy(channels.name);
  return { email, orgId: actor.org.id, userId, token, flavourId: flavour.id, channelId: stable.id };
}

/** Builds of `flavourId`'s revisions `count` of them, spread over its revisions, minutes apart, statuses mixed. */
const insertBuildsSql = (t: Tenant, count: number) => sql`
  insert into builds (org_id, flavour_id, revision_id, revision_number, version, status, total_packages, done_packages, image_ref, created_at, started_at, finished_at)
  select ${t.orgId}::uuid, r.flavour_id, r.id, r.number, 'r' || r.number || '.' || b.n,
         (array['succeeded', 'failed', 'cancelled', 'succeeded'])[1 + (r.number + b.n) % 4], 24, 24,
         '127.0.0.1:5000/bench/main:r' || r.number || '.' || b.n,
         now() - ((r.number * 100 + b.n) * interval '1 minute'), now() - ((r.number * 100 + b.n) * interval '1 minute'), now() - ((r.number * 100 + b.n - 3) * interval '1 minute')
  from flavour_revisions r
  cross join generate_series(1, ceil(${count}::numeric / (select count(*) from flavour_revisions where flavour_id = ${t.flavourId}::uuid))::int) b(n)
  where r.flavour_id = ${t.flavourId}::uuid
  order by r.number, b.n
  limit ${count}`;

/**
 * An operator: a user made admin in the database (the configured admin's password is not the bench's to know), who
 * signs in and lists every organisation.
 */
async function operator(db: ReturnType<typeof createDb>["db"]): Promise<{ email: string; token: string }> {
  const email = `bench-${nonce}-operator@bench.strata.test`;
  const { userId } = await signUp(db, { email, name: "Bench operator", organisation: `Bench ${nonce} operators`, password: PASSWORD });
  await db.update(users).set({ role: "admin" }).where(eq(users.id, userId));
  const token = (await createToken(db, await loadActor(db, userId, "session"), { name: "bench operator" })).token;
  return { email, token };
}

/** The busy organisation: its rows in bulk. */
async function loadBusy(db: ReturnType<typeof createDb>["db"], t: Tenant) {
  const started = performance.now();
  const [{ baseId, slug }] = (
    await db.execute(sql`select r.base_manifest_id as "baseId", o.slug from flavour_revisions r join orgs o on o.id = r.org_id where r.flavour_id = ${t.flavourId}::uuid`)
  ).rows as Array<{ baseId: string; slug: string }>;
  await db.execute(sql`
    insert into flavour_revisions (flavour_id, org_id, number, base_manifest_id, layers, excluded_packages, message, created_by, created_at)
    select ${t.flavourId}::uuid, ${t.orgId}::uuid, g, ${baseId}::uuid, '[]'::jsonb, '[]'::jsonb, 'Revision ' || g || ': another layer tried', ${t.userId}::uuid, now() - ((${REVISIONS} - g) * interval '1 hour')
    from generate_series(2, ${REVISIONS}) g`);
  await db.execute(insertBuildsSql(t, BIG_BUILDS));
  await db.execute(sql`
    insert into flavours (org_id, name, description, created_by, image_repository, created_at, updated_at)
    select ${t.orgId}::uuid, 'fleet-' || lpad(g::text, 4, '0'), 'Flavour ' || g || ' of the bench: a description as long as people write them, to weigh the page as it would.',
           ${t.userId}::uuid, ${slug} || '/fleet-' || lpad(g::text, 4, '0'), now() - g * interval '1 hour', now() - g * interval '10 minutes'
    from generate_series(1, ${FLAVOURS - 1}) g`);
  await db.execute(sql`
    insert into flavour_revisions (flavour_id, org_id, number, base_manifest_id, layers, excluded_packages, message, created_by)
    select id, org_id, 1, ${baseId}::uuid, '[]'::jsonb, '[]'::jsonb, 'Forked', ${t.userId}::uuid from flavours where org_id = ${t.orgId}::uuid and name like 'fleet-%'`);
  // The other builds, spread over the other flavours: build n of flavour i is r1.<n>.
  await db.execute(sql`
    with f as (select id, (row_number() over (order by name)) - 1 as i from flavours where org_id = ${t.orgId}::uuid and name like 'fleet-%')
    insert into builds (org_id, flavour_id, revision_id, revision_number, version, status, total_packages, done_packages, created_at, finished_at)
    select ${t.orgId}::uuid, f.id, r.id, 1, 'r1.' || (g / ${FLAVOURS - 1} + 1), 'succeeded', 24, 24, now() - g * interval '1 minute', now() - g * interval '1 minute'
    from generate_series(0, ${OTHER_BUILDS - 1}) g
    join f on f.i = g % ${FLAVOURS - 1}
    join flavour_revisions r on r.flavour_id = f.id and r.number = 1`);
  await db.execute(sql`
    insert into devices (org_id, channel_id, name, secret_hash, registered_at, last_seen_at, current_version, last_result)
    select ${t.orgId}::uuid, ${t.channelId}::uuid, 'kiosk-' || g, md5(${nonce} || g) || md5(g::text || ${nonce}), now() - g * interval '1 hour', now() - g * interval '1 minute', '1.0.' || (g % 7), 'success'
    from generate_series(1, ${DEVICES}) g`);
  await db.execute(sql`
    insert into audit_log (org_id, actor_user_id, action, subject, channel_id, detail, at)
    select ${t.orgId}::uuid, ${t.userId}::uuid, 'device.rename', gen_random_uuid()::text, ${t.channelId}::uuid, jsonb_build_object('before', jsonb_build_object('name', 'a' || g), 'after', jsonb_build_object('name', 'b' || g)), now() - g * interval '1 minute'
    from generate_series(1, ${AUDIT}) g`);
  // Repository revisions as successful builds publish them (no artefacts or registry behind them: the list reads none).
  await db.execute(sql`
    insert into repository_revisions (org_id, flavour_id, number, build_id, index, index_digest, reference, manifest_digest, package_count, file_count, size, uncompressed_size, debian_package_count, created_at)
    select ${t.orgId}::uuid, ${t.flavourId}::uuid, row_number() over (order by b.created_at, b.id), b.id, '{}', 'sha256:' || md5(b.id::text) || md5(b.version),
           '127.0.0.1:5000/' || ${slug} || '/main-repo:' || b.version, 'sha256:' || md5(b.version) || md5(b.id::text), 24, 9000, 300000000, 900000000, 410, b.finished_at
    from (select * from builds where flavour_id = ${t.flavourId}::uuid and status = 'succeeded' order by created_at, id limit ${REPOSITORY_REVISIONS}) b`);
  // Other customers' organisations, for the admin's list.
  await db.execute(sql`
    insert into orgs (name, slug, created_at)
    select 'Customer ' || ${nonce} || ' ' || lpad(g::text, 4, '0'), 'customer-' || ${nonce} || '-' || lpad(g::text, 4, '0'), now() - g * interval '1 hour'
    from generate_series(1, ${ORGS}) g`);
  await db.execute(sql`analyze`);
  const [counts] = (
    await db.execute(sql`select (select count(*) from flavours where org_id = ${t.orgId}::uuid)::int as flavours, (select count(*) from builds where org_id = ${t.orgId}::uuid)::int as builds,
      (select count(*) from builds where flavour_id = ${t.flavourId}::uuid)::int as "bigBuilds", (select count(*) from flavour_revisions where flavour_id = ${t.flavourId}::uuid)::int as revisions`)
  ).rows as Array<{ flavours: number; builds: number; bigBuilds: number; revisions: number }>;
  log(`loaded ${counts.flavours} flavours, ${counts.builds} builds (${counts.bigBuilds} on one flavour with ${counts.revisions} revisions and ${REPOSITORY_REVISIONS} repository revisions), ${DEVICES} devices, ${AUDIT} audit entries, ${ORGS} more organisations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Signs in through next-auth's credentials flow, as the sign-in form does; returns the Cookie header of the session. */
async function signIn(base: string, email: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const csrf = await fetch(`${base}/api/auth/csrf`);
  keep(csrf);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie(), origin: base },
    body: new URLSearchParams({ csrfToken, email, password: PASSWORD, json: "true", callbackUrl: `${base}/dashboard` }),
  });
  keep(res);
  const session = [...jar.keys()].find((k) => k.endsWith("next-auth.session-token"));
  if (!session) throw new Error(`signing in as ${email} set no session cookie (HTTP ${res.status}: ${(await res.text()).slice(0, 200)})`);
  return cookie();
}

interface Figures {
  p50: number;
  p95: number;
  bytes: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** Milliseconds to the last byte of one GET; a status other than 200 (a sign-in redirect, an error) fails the run. */
async function timed(url: string, headers: Record<string, string>): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers, redirect: "manual" });
  const body = await res.arrayBuffer();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${Buffer.from(body).toString("utf8").slice(0, 200)}`);
  return { ms, bytes: body.byteLength };
}

/** `SEQUENTIAL` requests one after the other, then `CONCURRENT` with `IN_FLIGHT` at a time (after 3 to warm up). */
async function measure(url: string, headers: Record<string, string>): Promise<{ sequential: Figures; concurrent: Figures }> {
  for (let i = 0; i < 3; i++) await timed(url, headers);
  const sequential: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SEQUENTIAL; i++) {
    const r = await timed(url, headers);
    sequential.push(r.ms);
    bytes = r.bytes;
  }
  const concurrent: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < CONCURRENT) concurrent.push((await timed(url, headers)).ms);
    }),
  );
  const figures = (ms: number[]): Figures => {
    const sorted = [...ms].sort((a, b) => a - b);
    return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), bytes };
  };
  return { sequential: figures(sequential), concurrent: figures(concurrent) };
}

const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

async function main(teardown: Teardown) {
  log(`run ${nonce}${SMOKE ? " (smoke: a tenth of the data)" : ""}`);
  const { databaseUrl } = await startDatabase({ runDir }, teardown);
  const { db, pool } = createDb(databaseUrl, { max: 2 });
  let busy: Tenant;
  let quiet: Tenant;
  let admin: { email: string; token: string };
  try {
    busy = await tenant(db, "busy");
    quiet = await tenant(db, "quiet");
    admin = await operator(db);
    await db.execute(insertBuildsSql(quiet, 10));
    await loadBusy(db, busy);
  } finally {
    await pool.end();
  }
  const portal = await startPortal({ databaseUrl }, { runDir, nonce, env: {}, log, worker: false }, teardown);
  const base = portal.customer.base;
  const cookies = { busy: await signIn(base, busy.email), quiet: await signIn(base, quiet.email), admin: await signIn(base, admin.email) };
  const quietSlug = `bench-${nonce}-quiet`;

  // Each list as the busy organisation sees it, against its baseline: the same page or list of the quiet organisation;
  // for the admin's organisation list, the same list searched down to the quiet organisation.
  type Who = "busy" | "quiet" | "admin";
  const headersOf = (who: Who, auth: "cookie" | "token"): Record<string, string> =>
    auth === "cookie" ? { cookie: cookies[who] } : { authorization: `Bearer ${who === "admin" ? admin.token : who === "busy" ? busy.token : quiet.token}` };
  const perTenant = (name: string, path: (t: Tenant) => string, auth: "cookie" | "token") => ({
    name,
    loaded: { path: path(busy), headers: headersOf("busy", auth) },
    baseline: { path: path(quiet), headers: headersOf("quiet", auth) },
  });
  const forAdmin = (name: string, path: string, auth: "cookie" | "token") => ({
    name,
    loaded: { path, headers: headersOf("admin", auth) },
    baseline: { path: `${path}?q=${quietSlug}`, headers: headersOf("admin", auth) },
  });
  const targets = [
    perTenant("/flavours", () => "/flavours", "cookie"),
    perTenant("a flavour's builds page", (t) => `/flavours/${t.flavourId}/builds`, "cookie"),
    perTenant("a flavour's history page", (t) => `/flavours/${t.flavourId}/history`, "cookie"),
    perTenant("a flavour's repository page", (t) => `/flavours/${t.flavourId}/repository`, "cookie"),
    perTenant("/dashboard", () => "/dashboard", "cookie"),
    perTenant("/devices", () => "/devices", "cookie"),
    forAdmin("/admin (organisations)", "/admin", "cookie"),
    perTenant("GET /api/v1/flavours", () => "/api/v1/flavours", "token"),
    perTenant("GET …/builds", (t) => `/api/v1/flavours/${t.flavourId}/builds`, "token"),
    perTenant("GET …/revisions", (t) => `/api/v1/flavours/${t.flavourId}/revisions`, "token"),
    perTenant("GET …/repository", (t) => `/api/v1/flavours/${t.flavourId}/repository`, "token"),
    forAdmin("GET /api/v1/orgs (admin)", "/api/v1/orgs", "token"),
  ];

  const health = await measure(`${base}/api/health`, {});
  log(`GET /api/health (the floor of a request): p50 ${health.sequential.p50.toFixed(1)} ms, p95 ${health.sequential.p95.toFixed(1)} ms`);
  const rows: string[][] = [];
  let misses = 0;
  let flavoursHtml = 0;
  for (const target of targets) {
    portal.assertRunning();
    const baseline = await measure(`${base}${target.baseline.path}`, target.baseline.headers);
    const loaded = await measure(`${base}${target.loaded.path}`, target.loaded.headers);
    if (target.name === "/flavours") flavoursHtml = loaded.sequential.bytes;
    const pass = loaded.sequential.p50 < TARGET_P50_MS;
    if (!pass) misses++;
    rows.push([
      target.name,
      loaded.sequential.p50.toFixed(1),
      loaded.sequential.p95.toFixed(1),
      loaded.concurrent.p50.toFixed(1),
      loaded.concurrent.p95.toFixed(1),
      baseline.sequential.p50.toFixed(1),
      `${(loaded.sequential.p50 / baseline.sequential.p50).toFixed(2)}×`,
      kib(loaded.sequential.bytes),
      pass ? "PASS" : "MISS",
    ]);
    log(`${target.name}: p50 ${loaded.sequential.p50.toFixed(1)} ms (baseline ${baseline.sequential.p50.toFixed(1)} ms)`);
  }
  const header = ["what", "p50 ms", "p95 ms", `p50 ×${IN_FLIGHT}`, `p95 ×${IN_FLIGHT}`, "baseline p50", "ratio", "size", `p50 < ${TARGET_P50_MS} ms`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log("");
  console.log(
    `Portal lists: ${FLAVOURS} flavours, ${BIG_BUILDS + OTHER_BUILDS} builds (${BIG_BUILDS} on one flavour, ${REVISIONS} revisions, ${REPOSITORY_REVISIONS} repository revisions), ${ORGS} more organisations; ${SEQUENTIAL} requests one at a time, ${CONCURRENT} with ${IN_FLIGHT} in flight.`,
  );
  console.log(
    `Baseline: the same page or list of an organisation with 1 flavour and 10 builds (the admin's organisation list: searched down to one), in the same run; GET /api/health p50 ${health.sequential.p50.toFixed(1)} ms.`,
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`/flavours HTML: ${kib(flavoursHtml)} (it was 1.5 MB with all 1,000 flavours on one page).`);
  console.log(misses === 0 ? `PASS: every p50 under ${TARGET_P50_MS} ms.` : `MISS: ${misses} of ${rows.length} over ${TARGET_P50_MS} ms at p50.`);
}

runBench(main, log);
