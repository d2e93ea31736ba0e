// Benchmark of what a device fleet asks most: `GET /api/device/v1/channel`, against nginx serving the same document as
// a static file, in one run: `npm run bench:channel` (BENCH_ROUNDS=<n> repeats the measurements, default 1;
// BENCH_SMOKE=1 checks the bench itself: 2,000 devices, 3 s runs).
//
// It starts PostgreSQL and the web server only (stack.ts: a fresh embedded PostgreSQL and `scripts/web.ts` with
// NODE_ENV=production; no Docker, registry or worker; data in .data/bench/run-<nonce>, deleted at the end), then, through
// the API as a user would: a customer forks the latest bundled base manifest, asks to release a build on the stable
// channel, an admin approves it at 50 % (so both sides of the rollout are served), the customer makes a registration
// token, and 10,000 devices register with it (POST /api/device/v1/register, 20 at a time).
// At scale devices reach the portal through a load balancer (that is how several web processes are run), so the web
// server runs with TRUST_PROXY=1 and every request carries its device's own X-Forwarded-For (10.x.y.z from the
// device's index); every other setting is the default: rate limits per device and per address, the device cache.
// wrk (Debian's, installed when missing, as is nginx-light) asks with 100 connections and 2 threads over HTTPS, each
// request as the next of the 10,000 devices (Authorization, X-Strata-Device, X-Forwarded-For), in two kinds:
//   - without If-None-Match: the signed document (200);
//   - with If-None-Match: the device's current ETag, fetched just before (304).
// The baseline is nginx (worker_processes auto, access_log off, the web server's own certificate) serving the document
// bytes of one device in the rollout (the longer kind) as a static file at the same path, with `etag on`, asked by the
// same wrk script (its If-None-Match is nginx's ETag). Each measurement is 10 s after a 3 s warm-up; nginx and ours
// alternate which goes first each round.
// Targets: ours ≥ 0.25× nginx's requests/s for both kinds, p99 < 20 ms. Any response other than 2xx/3xx fails the run
// (a 429 would mean the figures measure the rate limiter). CPU per process over each measurement is printed, from /proc.
// Nothing but 127.0.0.1 is reached (and Debian's archive, to install nginx-light and wrk); everything the bench
// starts is stopped at the end, on failure and on Ctrl-C too.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDb } from "@/lib/db";
import { builds } from "@/lib/db/schema";
import { deviceRateLimits } from "@/lib/devices/rate-limit";
import { httpsAnswers, waitFor } from "@/scripts/dev-stack/processes";
import { ensureDebianPackages, freePort, latestBaseManifest, runBench, startDatabase, startPortal, type Portal, type Teardown } from "./stack";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const SMOKE = process.env.BENCH_SMOKE === "1";
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS || 1)) || 1);
// Smoke: enough devices that 4 s of wrk stay within each device's rate limit (60 a minute, also the burst).
const DEVICE_COUNT = SMOKE ? 2_000 : 10_000;
const DURATION_S = SMOKE ? 3 : 10;
const WARM_UP_S = SMOKE ? 1 : 3;
const CONNECTIONS = 100;
const THREADS = 2;
/** Registrations and ETag fetches in flight at once. */
const SETUP_CONCURRENCY = 20;
const CHANNEL_PATH = "/api/device/v1/channel";
const TARGETS = { ratio: 0.25, p99Ms: 20 };
const dataDir = path.resolve(".data/bench");
const runDir = path.join(dataDir, `run-${nonce}`);
const log = (msg: string) => console.log(`[bench] ${msg}`);

// Set on SIGINT/SIGTERM, so that nothing new is started while runBench's teardown stops what was.
let aborted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => (aborted = true));
function checkNotAborted(): void {
  if (aborted) throw new Error("interrupted");
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

interface Device {
  id: string;
  secret: string;
  /** Its X-Forwarded-For: the address a load balancer would report for it. */
  address: string;
  /** Its document's current ETag, quotes included. */
  etag: string;
}

/** 10.x.y.z from the device's index: one address per device, as a fleet behind a load balancer looks. */
const addressOf = (index: number) => `10.${((index + 1) >> 16) & 255}.${((index + 1) >> 8) & 255}.${(index + 1) & 255}`;

/** `fn` over `items`, `concurrency` at a time. */
async function inPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const thousands = (n: number) => Math.round(n).toLocaleString("en-GB");

// ---------------------------------------------------------------------------------------------------------------
// The fleet, through the API

interface FlavourView {
  id: string;
  name: string;
  latest: { id: string; number: number; packages: unknown[] };
}

/**
 * A flavour of the customer's with an approved release at 50 % on its stable channel, and a registration token for
 * `DEVICE_COUNT` devices on that channel.
 */
async function releasedChannel(portal: Portal, databaseUrl: string): Promise<{ channelId: string; token: string }> {
  const { customer, admin } = portal;
  const me = await customer.get<{ org: { id: string; slug: string } }>("/me");
  const base = await latestBaseManifest<{ id: string; name: string; version: string }>(customer);
  const flavour = await customer.post<FlavourView>("/flavours", { baseManifestId: base.id, name: "bench-channel" });
  // The bench measures serving documents, not builds: a succeeded build is written as the worker would leave it,
  // with an image nobody pulls.
  const { db, pool } = createDb(databaseUrl, { max: 1 });
  let buildId: string;
  try {
    const now = new Date();
    const [row] = await db
      .insert(builds)
      .values({
        orgId: me.org.id,
        flavourId: flavour.id,
        revisionId: flavour.latest.id,
        revisionNumber: flavour.latest.number,
        version: `r${flavour.latest.number}.1`,
        status: "succeeded",
        totalPackages: flavour.latest.packages.length,
        donePackages: flavour.latest.packages.length,
        imageRef: `127.0.0.1:5000/${me.org.slug}/${flavour.name}:r${flavour.latest.number}.1`,
        imageDigest: `sha256:${randomBytes(32).toString("hex")}`,
        imageSize: 812_000_000,
        startedAt: now,
        finishedAt: now,
      })
      .returning({ id: builds.id });
    buildId = row.id;
  } finally {
    await pool.end();
  }
  const { channels } = await customer.get<{ channels: { id: string; name: string }[] }>(`/flavours/${flavour.id}/channels`);
  const stable = channels.find((c) => c.name === "stable");
  check(stable !== undefined, `the new flavour has no stable channel (it has ${channels.map((c) => c.name).join(", ")})`);
  const release = await customer.post<{ id: string }>(`/channels/${stable.id}/releases`, { buildId, version: "1.0.0" });
  await admin.post(`/releases/${release.id}/approve`, { rolloutPercent: 50 });
  const { token } = await customer.post<{ token: string }>(`/channels/${stable.id}/registration-tokens`, { name: "bench fleet", maxUses: DEVICE_COUNT });
  log(`flavour ${flavour.name} (forked from ${base.name} ${base.version}), release 1.0.0 approved at 50 % on stable`);
  return { channelId: stable.id, token };
}

async function deviceCall(base: string, route: string, init: { method?: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(`${base}/api/device/v1/${route}`, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function registerFleet(base: string, token: string): Promise<Device[]> {
  const started = performance.now();
  const devices = await inPool(Array.from({ length: DEVICE_COUNT }, (_, i) => i), SETUP_CONCURRENCY, async (i) => {
    checkNotAborted();
    const address = addressOf(i);
    const res = await deviceCall(base, "register", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": address },
      body: JSON.stringify({ token, name: `bench-${i}`, agentVersion: "bench" }),
    });
    check(res.status === 201, `POST /api/device/v1/register of device ${i}: HTTP ${res.status}: ${res.body.toString().slice(0, 300)}`);
    const { deviceId, secret } = JSON.parse(res.body.toString()) as { deviceId: string; secret: string };
    return { id: deviceId, secret, address, etag: "" };
  });
  const seconds = (performance.now() - started) / 1000;
  log(`registered ${thousands(DEVICE_COUNT)} devices in ${seconds.toFixed(1)} s (${thousands(DEVICE_COUNT / seconds)}/s, ${SETUP_CONCURRENCY} at a time)`);
  return devices;
}

const deviceHeaders = (device: Device) => ({ authorization: `Bearer ${device.secret}`, "x-strata-device": device.id, "x-forwarded-for": device.address });

/**
 * Every device's current ETag (a GET each, as the devices' first poll), and the document of the first device in the
 * rollout (the longer kind, with a release and a target). Run again before each measurement with If-None-Match:
 * documents are re-signed every hour, with new ETags.
 */
async function fetchEtags(base: string, devices: Device[]): Promise<{ document: Buffer | undefined; inRollout: number }> {
  let inRollout = 0;
  let document: Buffer | undefined;
  await inPool(devices, SETUP_CONCURRENCY, async (device, i) => {
    checkNotAborted();
    const res = await deviceCall(base, "channel", { headers: deviceHeaders(device) });
    check(res.status === 200, `GET ${CHANNEL_PATH} as device ${i}: HTTP ${res.status}: ${res.body.toString().slice(0, 300)}`);
    const etag = res.headers.get("etag");
    check(etag !== null && res.headers.get("x-strata-signature") !== null, `GET ${CHANNEL_PATH} as device ${i}: no ETag or X-Strata-Signature`);
    device.etag = etag;
    if ((JSON.parse(res.body.toString()) as { target: unknown }).target !== null) {
      inRollout++;
      document ??= res.body;
    }
  });
  return { document, inRollout };
}

// ---------------------------------------------------------------------------------------------------------------
// nginx, the baseline

/** nginx in the foreground with a configuration, certificate and document of the run's own; stopped by the teardown. */
async function startNginx(opts: { document: Buffer; certificate: string; key: string }, teardown: Teardown): Promise<{ base: string; etag: string }> {
  checkNotAborted();
  const prefix = path.join(runDir, "nginx");
  const file = path.join(prefix, "www", CHANNEL_PATH);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, opts.document);
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${path.join(prefix, `${name}-temp`)};`;
  fs.writeFileSync(
    path.join(prefix, "nginx.conf"),
    [
      "worker_processes auto;",
      "daemon off;",
      `pid ${path.join(prefix, "nginx.pid")};`,
      `error_log ${path.join(prefix, "error.log")} warn;`,
      // As root, nginx's workers would run as nobody, who may not reach the run's folder; as anyone else this is ignored.
      ...(process.getuid?.() === 0 ? ["user root;"] : []),
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      `  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")}`,
      "  sendfile on;",
      "  server {",
      `    listen 127.0.0.1:${port} ssl;`,
      `    ssl_certificate ${opts.certificate};`,
      `    ssl_certificate_key ${opts.key};`,
      `    root ${path.join(prefix, "www")};`,
      `    location = ${CHANNEL_PATH} { default_type application/json; etag on; }`,
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  const child = spawn("nginx", ["-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-e", path.join(prefix, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  teardown.defer("stop nginx", () => stopChild(child, exited, "SIGQUIT"));
  const base = `https://127.0.0.1:${port}`;
  await Promise.race([
    waitFor("nginx", () => httpsAnswers(`${base}${CHANNEL_PATH}`), 15_000, 100),
    exited.then(() => Promise.reject(new Error(`nginx exited: ${stderr.trim() || fs.readFileSync(path.join(prefix, "error.log"), "utf8")}`))),
  ]);
  const { status, etag, length } = await httpsHead(`${base}${CHANNEL_PATH}`);
  check(status === 200 && etag !== undefined && length === opts.document.length, `nginx answers ${status} with ETag ${etag} and ${length} bytes; expected 200, an ETag and ${opts.document.length} bytes`);
  return { base, etag };
}

async function stopChild(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Status, ETag and length of a GET, the certificate unchecked (it is the local CA's). */
async function httpsHead(url: string): Promise<{ status: number; etag?: string; length: number }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        let length = 0;
        res.on("data", (chunk: Buffer) => (length += chunk.length));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, length }));
      })
      .on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// wrk

// Each request as the next device, from a table built once per thread; threads start half-way apart in the fleet, so
// no two connections ask as the same device at once. Args: <threads> <devices file> <plain|if-none-match> [<ETag for all>]
const WRK_SCRIPT = `-- wrk script of bench/channel.ts: every request as the next registered device.
local requests = {}
local next_index = 1
local started = 0

function setup(thread)
  started = started + 1
  thread:set("thread_number", started)
end

function init(args)
  local threads, file, mode, etag = tonumber(args[1]), args[2], args[3], args[4]
  for line in io.lines(file) do
    local id, secret, address, device_etag = line:match("^(%S+)\\t(%S+)\\t(%S+)\\t(%S+)$")
    local headers = { ["Authorization"] = "Bearer " .. secret, ["X-Strata-Device"] = id, ["X-Forwarded-For"] = address }
    if mode == "if-none-match" then
      if etag ~= nil and etag ~= "" then headers["If-None-Match"] = etag else headers["If-None-Match"] = device_etag end
    end
    requests[#requests + 1] = wrk.format("GET", nil, headers)
  end
  next_index = math.floor((thread_number - 1) * #requests / threads) + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
`;

type Kind = "plain" | "if-none-match";
type Server = "ours" | "nginx";

interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  bytesRead: number;
  non2xx3xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** Share of the machine's CPU time (100 % = one core) per process name over the run. */
  cpu: Map<string, number>;
}

const LATENCY_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** The figures of `wrk --latency`'s report. */
function parseWrk(output: string): Omit<WrkResult, "cpu"> {
  const totals = /(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(output);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const latency = (percent: number) => {
    const m = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    if (!m) throw new Error(`no ${percent}% latency in wrk's output:\n${output}`);
    return Number(m[1]) * LATENCY_UNITS[m[2]];
  };
  if (!totals || !rate) throw new Error(`unexpected wrk output:\n${output}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(totals[1]),
    seconds: Number(totals[2]) * LATENCY_UNITS[totals[3]] / 1000,
    requestsPerSecond: Number(rate[1]),
    p50Ms: latency(50),
    p99Ms: latency(99),
    bytesRead: Number(totals[4]) * BYTE_UNITS[totals[5]],
    non2xx3xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: errors ? { connect: Number(errors[1]), read: Number(errors[2]), write: Number(errors[3]), timeout: Number(errors[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

interface ProcessTicks {
  ppid: number;
  /** The web server's node is "web", this process "bench"; processes the bench did not start are "other processes". */
  name: string;
  ticks: number;
}

/** CPU ticks so far (user + system, all threads) of every process on the machine, by pid. */
function cpuTicks(): Map<number, ProcessTicks> {
  const all = new Map<number, ProcessTicks>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      // After the command: state, ppid, …; utime and stime are the 12th and 13th fields after the state.
      const fields = stat.slice(close + 2).split(" ");
      const name = Number(entry) === process.pid ? "bench" : comm === "node" && fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("scripts/web.ts") ? "web" : comm;
      all.set(Number(entry), { ppid: Number(fields[1]), name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 50; p = all.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, info] of all) if (pid !== process.pid && !ours(pid)) info.name = "other processes";
  return all;
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/** Share of CPU (100 % = one core) by name between two samples. */
function cpuShares(before: Map<number, ProcessTicks>, after: Map<number, ProcessTicks>, seconds: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [pid, now] of after) {
    const used = now.ticks - (before.get(pid)?.ticks ?? 0);
    if (used > 0) byName.set(now.name, (byName.get(now.name) ?? 0) + used);
  }
  return new Map([...byName].map(([name, used]) => [name, (100 * used) / CLOCK_TICKS / seconds] as const).sort((a, b) => b[1] - a[1]));
}

class Wrk {
  private running: ChildProcess | null = null;
  constructor(
    private readonly script: string,
    teardown: Teardown,
  ) {
    teardown.defer("stop wrk", async () => void this.running?.kill("SIGKILL"));
  }

  /** One wrk run; throws on any non-2xx/3xx response (printing wrk's report). */
  async run(url: string, devicesFile: string, kind: Kind, seconds: number, etag?: string): Promise<WrkResult> {
    checkNotAborted();
    const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", this.script, url, "--", String(THREADS), devicesFile, kind, ...(etag ? [etag] : [])];
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.running = child;
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // CPU from just after wrk started to just before it stops (an exited wrk's time is gone from /proc).
    let cpu = new Map<string, number>();
    const sampled = (async () => {
      await sleep(200);
      const [before, from] = [cpuTicks(), performance.now()];
      await sleep(seconds * 1000 - 400);
      cpu = cpuShares(before, cpuTicks(), (performance.now() - from) / 1000);
    })();
    const code = await new Promise<number | null>((resolve, reject) => child.once("error", reject).once("exit", (c) => resolve(c)));
    this.running = null;
    await sampled;
    checkNotAborted();
    if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
    const result = { ...parseWrk(output), cpu };
    if (result.non2xx3xx > 0) throw new Error(`${result.non2xx3xx} of ${result.requests} responses were not 2xx/3xx (a 429 means the rate limiter answered); wrk's report:\n${output}`);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The report

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const cpuLine = (cpu: Map<string, number>) =>
  [...cpu]
    .filter(([, share]) => share >= 2)
    .slice(0, 5)
    .map(([name, share]) => `${name} ${share.toFixed(0)} %`)
    .join(", ");

function table(header: string[], rows: string[][]): void {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   "));
}

type Results = Record<Kind, Record<Server, WrkResult[]>>;

function report(results: Results, portalSettings: string): void {
  const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
  // Requests/s over all rounds (summed requests over summed seconds); p99: the worst round's.
  const rate = (runs: WrkResult[]) => runs.reduce((n, r) => n + r.requests, 0) / runs.reduce((s, r) => s + r.seconds, 0);
  const p99 = (runs: WrkResult[]) => Math.max(...runs.map((r) => r.p99Ms));
  const label: Record<Kind, string> = { plain: "without If-None-Match (200)", "if-none-match": "with If-None-Match (304)" };
  console.log(
    `\nGET ${CHANNEL_PATH}, ${thousands(DEVICE_COUNT)} registered devices, wrk -t${THREADS} -c${CONNECTIONS} over HTTPS on 127.0.0.1, ` +
      `${DURATION_S} s × ${ROUNDS} round(s) after ${WARM_UP_S} s warm-ups${SMOKE ? " — SMOKE (not a measurement)" : ""}`,
  );
  console.log(portalSettings);
  const rows = (Object.keys(label) as Kind[]).map((kind) => {
    const ours = results[kind].ours;
    const nginx = results[kind].nginx;
    const ratio = rate(ours) / rate(nginx);
    return [
      label[kind],
      thousands(rate(ours)),
      thousands(rate(nginx)),
      ratio.toFixed(2),
      `≥ ${TARGETS.ratio}`,
      verdict(ratio >= TARGETS.ratio),
      ms(p99(ours)),
      ms(p99(nginx)),
      `< ${TARGETS.p99Ms} ms`,
      verdict(p99(ours) < TARGETS.p99Ms),
    ];
  });
  table(["", "ours req/s", "nginx req/s", "ours/nginx", "target", "", "ours p99", "nginx p99", "target", ""], rows);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(teardown: Teardown): Promise<void> {
  ensureDebianPackages(
    [
      ["nginx", "nginx-light"],
      ["wrk", "wrk"],
    ],
    log,
  );
  const overrides = Object.keys(process.env).filter((name) => /^(STRATA_DEVICE_|TRUST_PROXY$)/.test(name));
  if (overrides.length) log(`warning: ${overrides.join(", ")} set in the environment: the web server does not run with the defaults users get`);
  const limits = deviceRateLimits();
  const cacheMs = process.env.STRATA_DEVICE_CACHE_MS || "2000";
  const portalSettings =
    `portal: one web process, NODE_ENV=production, TRUST_PROXY=1 (each device its own X-Forwarded-For 10.x.y.z, as behind a load balancer); ` +
    `rate limits ${thousands(limits.perDevice.perMinute)}/min per device, ${thousands(limits.perAddress.perMinute)}/min per address; device rows and channel states cached until a change notification (${cacheMs} ms while the feed is down)` +
    (overrides.length ? ` (environment: ${overrides.join(", ")})` : " (all defaults)");

  const { databaseUrl } = await startDatabase({ runDir }, teardown);
  checkNotAborted();
  const portal = await startPortal({ databaseUrl }, { runDir, nonce, env: { TRUST_PROXY: "1" }, log, worker: false }, teardown);
  const apiBase = portal.customer.base;

  const { token } = await releasedChannel(portal, databaseUrl);
  const devices = await registerFleet(apiBase, token);
  const first = await fetchEtags(apiBase, devices);
  check(first.document !== undefined && first.inRollout < DEVICE_COUNT, `${thousands(first.inRollout)} of ${thousands(DEVICE_COUNT)} devices are in the 50 % rollout; it should give some the release and not others`);
  log(`${thousands(first.inRollout)} of ${thousands(DEVICE_COUNT)} devices are in the 50 % rollout (release and target set, ${first.document.length} bytes), the rest get no release`);

  const nginx = await startNginx({ document: first.document, certificate: path.join(runDir, "tls", "server.pem"), key: path.join(runDir, "tls", "server-key.pem") }, teardown);
  log(`nginx serves an in-rollout device's document at ${nginx.base}${CHANNEL_PATH} (ETag ${nginx.etag})`);
  const script = path.join(runDir, "channel.lua");
  fs.writeFileSync(script, WRK_SCRIPT);
  const devicesFile = path.join(runDir, "devices.tsv");
  const writeDevices = () => fs.writeFileSync(devicesFile, devices.map((d) => [d.id, d.secret, d.address, d.etag].join("\t")).join("\n") + "\n");
  writeDevices();
  const wrk = new Wrk(script, teardown);

  const before = cpuTicks();
  await sleep(2000);
  const others = cpuShares(before, cpuTicks(), 2).get("other processes") ?? 0;
  if (others > 20) log(`warning: work the bench did not start uses ${others.toFixed(0)} % of a core (of ${os.cpus().length}) before measuring: it distorts the figures (see "other processes" below)`);
  const results: Results = { plain: { ours: [], nginx: [] }, "if-none-match": { ours: [], nginx: [] } };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of ["plain", "if-none-match"] as const) {
      const order: Server[] = round % 2 === 1 ? ["nginx", "ours"] : ["ours", "nginx"];
      for (const server of order) {
        const url = `${server === "ours" ? portal.httpsBase : nginx.base}${CHANNEL_PATH}`;
        const etag = server === "nginx" && kind === "if-none-match" ? nginx.etag : undefined;
        if (server === "ours" && kind === "if-none-match") {
          await fetchEtags(apiBase, devices);
          writeDevices();
        }
        await wrk.run(url, devicesFile, kind, WARM_UP_S, etag);
        const result = await wrk.run(url, devicesFile, kind, DURATION_S, etag);
        portal.assertRunning();
        const perResponse = result.bytesRead / result.requests;
        const errors = Object.entries(result.socketErrors).filter(([, n]) => n > 0);
        log(
          `round ${round}, ${kind}, ${server}: ${thousands(result.requestsPerSecond)} req/s, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}, ` +
            `${perResponse.toFixed(0)} bytes/response${errors.length ? `, socket errors: ${errors.map(([what, n]) => `${what} ${n}`).join(", ")}` : ""}; CPU: ${cpuLine(result.cpu)}`,
        );
        // A 304 carries no body: responses as big as the document mean ETags changed (the hourly re-signing).
        if (kind === "if-none-match" && perResponse >= first.document.length) log(`warning: ${server} answered the If-None-Match run with bodies: the ETags changed during the run (documents are re-signed each hour)`);
        results[kind][server].push(result);
      }
    }
  }
  report(results, portalSettings);
}

runBench(main, log);
