// Benchmark of what users get from repository revisions, in one run: `npm run bench:repository`
// (BENCH_ROUNDS=<n> repeats the publishing round and multiplies the searches, default 1; BENCH_SMOKE=1 checks the bench itself).
//
// It starts the real stack as bench/build.ts does (stack.ts: a fresh embedded PostgreSQL, the machine's Docker engine,
// a registry of its own on 127.0.0.1:5078, the web server and ONE worker with default settings; data in
// .data/bench/run-<nonce>, deleted at the end) and drives the REST API with personal access tokens, as clicks would:
//   1. Publishing a revision. A flavour forked from the latest bundled base manifest, Build, succeeded. Publishing =
//      the `repository` span of the build's own time line (the wait, after the image is published, for the image's
//      Debian packages and the artefacts' upload, which run beside the image's publishing) + from that line's `at` to
//      the build's finishedAt (the transaction that writes the index, the artifact manifest and the revision's rows):
//      what the repository adds to the build's time. Against the whole build, startedAt → finishedAt; target ≤ 0.10.
//      (a) the flavour's first build, cold: every package built, every artefact uploaded;
//      (b) a flavour of a second organisation on the same base: every package cached, every artefact mounted from
//          (a)'s repository instead of uploaded.
//   2. File search ("which package ships this path?") on a revision of ≥ 50,000 files: a flavour on the same base plus
//      a layer of 45,000 empty files. After 20 untimed requests, 300 searches (limit=50) over six kinds of query, one
//      at a time, each followed by a GET /api/v1/me with the same token on the same server: the baseline, a request
//      that searches nothing. Target: search p99 < 100 ms.
// Cold without harming the machine's cache, as bench/build.ts: each round builds on a copy of strata/debian:bookworm
// with a new image id, published (as admin) as a base manifest version bench-<nonce>-r<n> that is the real one with
// only base_image changed, so every cache key is new. Everything it started, and every image descending from its base
// copies, is removed at the end, on failure and on Ctrl-C too.
// BENCH_SMOKE=1: a one-package base manifest (a file, and /usr/bin plus /usr/lib/systemd touched so that the searches
// have real paths to find) instead of the real one, and a layer of 50,000 files.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import { sql } from "drizzle-orm";
import { createDb } from "@/lib/db";
import { DEFAULT_BASE_IMAGE } from "@/lib/builder/base-image";
import type { ManifestHeader, PackageDefinition, PackageDefinitionInput } from "@/lib/manifest/schema";
import { toManifestYaml } from "@/lib/manifest/yaml";
import { copyBaseImage } from "./images";
import { customerOfNewOrg, latestBaseManifest, runBench, startBenchStack, type Api, type Portal, type Teardown } from "./stack";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const SMOKE = process.env.BENCH_SMOKE === "1";
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS || 1)) || 1);
// Not build.ts's 5077, so that both benches can be started on one machine.
const REGISTRY_PORT = 5078;
const POLL_MS = 200;
const BUILD_TIMEOUT_MS = 60 * 60_000;
/** Files of the many-files layer; more when the base has fewer than 5,000, so the revision passes 50,000. */
const MANY_FILES = SMOKE ? 50_000 : 45_000;
const MIN_REVISION_FILES = 50_000;
const SEARCHES_PER_KIND = 50 * ROUNDS;
const WARM_UP_REQUESTS = 20;
const SEARCH_LIMIT = 50;
const TARGETS = { publishing: 0.1, searchP99Ms: 100 };
const dataDir = path.resolve(".data/bench");
const runDir = path.join(dataDir, `run-${nonce}`);
const CACHE_REPOSITORY = `bench-cache-${nonce}`;
const log = (msg: string) => console.log(`[bench] ${msg}`);

// ---------------------------------------------------------------------------------------------------------------
// What the API answers (only the fields the bench reads)

interface BaseManifestView {
  id: string;
  name: string;
  version: string;
  header: ManifestHeader;
  packages: PackageDefinition[];
}
interface RevisionView {
  number: number;
  layers: PackageDefinition[];
}
interface BuildView {
  id: string;
  version: string;
  status: string;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  repositoryRevision: number | null;
  packages: { packageId: string; cached: boolean | null; cacheKey: string | null; artefact: { digest: string } | null }[];
}
interface LogLine {
  id: number;
  line: string;
  at: string;
}
interface RepositoryRevisionSummary {
  number: number;
  buildId: string;
  reference: string;
  indexDigest: string;
  packageCount: number;
  fileCount: number;
}
interface RepositoryRevisionView {
  revision: RepositoryRevisionSummary;
  packages: { category: string; name: string; artefact: { digest: string; fileCount: number } }[];
}
interface FileSearchView {
  matches: { path: string; package: { category: string; name: string } }[];
  next: string | null;
}

interface Bench {
  docker: Dockerode;
  databaseUrl: string;
  portal: Portal;
  /** A customer of a second organisation, for (b). */
  otherCustomer: Api;
  /** The latest bundled base manifest; null in smoke mode. */
  real: BaseManifestView | null;
  baseCopies: string[];
  cacheKeys: Set<string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Nearest rank: the smallest value with at least p % of the values at or below it. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------------------------
// Accounts, manifests, flavours and builds, through the API



/** The real manifest with only its version and base image changed, or in smoke mode one small package. */
function manifestYaml(real: BaseManifestView | null, version: string, baseImage: string): string {
  if (real) return toManifestYaml({ ...real.header, version, base_image: baseImage, packages: real.packages });
  // Named system/base because layers require that package. Touching base files puts them in the package's layer,
  // so the smoke revision has the paths the searches look for.
  const base: PackageDefinitionInput = {
    category: "system",
    name: "base",
    version: "1",
    steps: ["echo 'strata bench' > /etc/strata-bench", "find /usr/bin /usr/lib/systemd -type f -exec touch {} +"],
  };
  return toManifestYaml({ name: "bench-smoke", version, base_image: baseImage, description: "One package that writes a file and touches a few.", packages: [base] });
}

/** A base copy (so every cache key is new) and its base manifest version, published as admin. */
async function publishBase(bench: Bench, label: string): Promise<{ id: string; version: string }> {
  const copy = await copyBaseImage(bench.docker, DEFAULT_BASE_IMAGE, `strata/debian:bench-${nonce}-${label}`, `${nonce}-${label}`);
  bench.baseCopies.push(copy.id);
  const version = `bench-${nonce}-${label}`;
  const manifest = await bench.portal.admin.post<{ id: string }>("/base-manifests", { yaml: manifestYaml(bench.real, version, copy.ref) });
  return { id: manifest.id, version };
}

async function fork(api: Api, baseManifestId: string, name: string): Promise<{ id: string; latest: RevisionView }> {
  return api.post<{ id: string; latest: RevisionView }>("/flavours", { baseManifestId, name });
}

async function logLines(api: Api, buildId: string): Promise<LogLine[]> {
  const all: LogLine[] = [];
  for (let after = 0; ; ) {
    const page = (await api.get<{ lines: LogLine[] }>(`/builds/${buildId}/logs?after=${after}&limit=5000`)).lines;
    all.push(...page);
    if (page.length < 5000) return all;
    after = page[page.length - 1].id;
  }
}

const tail = (lines: LogLine[], n = 30) =>
  lines
    .slice(-n)
    .map((l) => l.line)
    .join("\n");

/** Presses Build on `revision` and polls the build until it is final; throws unless it succeeded. */
async function build(bench: Bench, api: Api, flavourId: string, revision: number): Promise<{ build: BuildView; lines: LogLine[] }> {
  const { id } = await api.post<BuildView>(`/flavours/${flavourId}/builds`, { revision });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    bench.portal.assertRunning();
    const view = await api.get<BuildView>(`/builds/${id}`);
    for (const p of view.packages) if (p.cacheKey) bench.cacheKeys.add(p.cacheKey);
    if (view.status === "succeeded") return { build: view, lines: await logLines(api, id) };
    if (view.status === "failed" || view.status === "cancelled") {
      throw new Error(`build ${view.version} ${view.status}: ${view.error}\nlast lines of its log:\n${tail(await logLines(api, id))}`);
    }
    check(Date.now() < deadline, `build ${view.version} did not finish within ${BUILD_TIMEOUT_MS / 60_000} min`);
    await sleep(POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Publishing

interface Publishing {
  /** `repository` span + (finishedAt − the time line's at). */
  seconds: number;
  repositorySpan: number;
  finalTransaction: number;
  /** startedAt → finishedAt. */
  buildSeconds: number;
  artefacts: { uploaded: number; mounted: number; present: number };
  revision: RepositoryRevisionSummary;
  packages: number;
}

/**
 * Publishing time from the build's log, checked against what the API says of the revision: the time line, the
 * repository artefacts line and the published line must all be there and agree with the revision the API lists.
 */
async function publishingOf(api: Api, flavourId: string, view: BuildView, lines: LogLine[], what: string): Promise<Publishing> {
  const time = lines.find((l) => l.line.startsWith("[strata] time:"));
  check(time !== undefined, `${what}: the build's log has no time line; last lines:\n${tail(lines)}`);
  const spans = new Map([...time.line.matchAll(/([a-z]+) (\d+(?:\.\d+)?) s/g)].map((m) => [m[1], Number(m[2])]));
  const repositorySpan = spans.get("repository");
  check(repositorySpan !== undefined, `${what}: the time line has no repository span: ${time.line}`);
  const counts = lines.map((l) => /repository artefacts in \S+: (\d+) uploaded, (\d+) linked from other repositories, (\d+) there already/.exec(l.line)).find((m) => m);
  check(counts != null, `${what}: the build's log does not say how the repository's artefacts got to the registry`);
  const published = lines.map((l) => /\[strata\] published repository revision (\d+): (\S+) \(index (sha256:[0-9a-f]{64})\)/.exec(l.line)).find((m) => m);
  check(published != null, `${what}: the build succeeded but its log has no "published repository revision" line`);
  check(view.startedAt !== null && view.finishedAt !== null, `${what}: a succeeded build without startedAt or finishedAt`);

  const number = Number(published[1]);
  check(view.repositoryRevision === number, `${what}: the build says revision ${view.repositoryRevision}, its log says ${number}`);
  const listed = (await api.get<{ revisions: RepositoryRevisionSummary[] }>(`/flavours/${flavourId}/repository`)).revisions.find((r) => r.buildId === view.id);
  check(listed !== undefined, `${what}: GET /flavours/${flavourId}/repository lists no revision of build ${view.version}`);
  check(listed.number === number && listed.reference === published[2] && listed.indexDigest === published[3], `${what}: the listed revision (${listed.number}, ${listed.reference}) is not the one the log names`);
  const revision = await api.get<RepositoryRevisionView>(`/flavours/${flavourId}/repository/${number}`);
  check(revision.packages.length === view.packages.length, `${what}: revision ${number} has ${revision.packages.length} packages, the build ${view.packages.length}`);
  check(
    revision.packages.every((p, i) => p.artefact.digest === view.packages[i].artefact?.digest),
    `${what}: revision ${number}'s artefacts are not the build's`,
  );

  const finished = Date.parse(view.finishedAt);
  const finalTransaction = (finished - Date.parse(time.at)) / 1000;
  return {
    seconds: repositorySpan + finalTransaction,
    repositorySpan,
    finalTransaction,
    buildSeconds: (finished - Date.parse(view.startedAt)) / 1000,
    artefacts: { uploaded: Number(counts[1]), mounted: Number(counts[2]), present: Number(counts[3]) },
    revision: revision.revision,
    packages: view.packages.length,
  };
}

const distinctArtefacts = (view: BuildView) => new Set(view.packages.map((p) => p.artefact?.digest)).size;

function say(what: string, p: Publishing): void {
  log(
    `${what}: publishing ${p.seconds.toFixed(2)} s (repository span ${p.repositorySpan.toFixed(1)} s + final transaction ${p.finalTransaction.toFixed(2)} s) ` +
      `of ${p.buildSeconds.toFixed(1)} s; ${p.packages} packages, ${p.revision.fileCount} files; artefacts ${p.artefacts.uploaded} uploaded, ` +
      `${p.artefacts.mounted} mounted, ${p.artefacts.present} present; ${p.revision.reference}`,
  );
}

interface RoundResult {
  base: { id: string; version: string };
  cold: Publishing;
  cached: Publishing;
}

async function measurePublishing(bench: Bench, round: number): Promise<RoundResult> {
  const base = await publishBase(bench, `r${round}`);
  const { customer } = bench.portal;

  // (a) the first build of a new flavour on a base nobody built: every package built, every artefact uploaded
  const first = await fork(customer, base.id, `bench-r${round}-first`);
  const cold = await build(bench, customer, first.id, first.latest.number);
  check(cold.build.packages.every((p) => p.cached === false), `round ${round} (a): the cold build reused a cached package; the base copy did not make the keys new`);
  const coldPublishing = await publishingOf(customer, first.id, cold.build, cold.lines, `round ${round} (a)`);
  check(
    coldPublishing.artefacts.uploaded === distinctArtefacts(cold.build),
    `round ${round} (a): ${coldPublishing.artefacts.uploaded} of ${distinctArtefacts(cold.build)} artefacts uploaded; a new repository should receive all of them`,
  );
  say(`round ${round} (a) cold, first build`, coldPublishing);

  // (b) another organisation's flavour on the same base: every package cached, its artefacts mounted from (a)'s repository
  const second = await fork(bench.otherCustomer, base.id, `bench-r${round}-second`);
  const cached = await build(bench, bench.otherCustomer, second.id, second.latest.number);
  check(cached.build.packages.every((p) => p.cached === true), `round ${round} (b): the build of the same base in another organisation built a package`);
  const cachedPublishing = await publishingOf(bench.otherCustomer, second.id, cached.build, cached.lines, `round ${round} (b)`);
  check(
    cachedPublishing.artefacts.uploaded === 0 && cachedPublishing.artefacts.mounted === distinctArtefacts(cached.build),
    `round ${round} (b): artefacts ${cachedPublishing.artefacts.uploaded} uploaded, ${cachedPublishing.artefacts.mounted} mounted; every one should be mounted from (a)'s repository`,
  );
  say(`round ${round} (b) other organisation, cached`, cachedPublishing);
  return { base, cold: coldPublishing, cached: cachedPublishing };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. File search

interface Query {
  kind: string;
  q: string;
  /** Throws when the first page is not what a user asking this would expect. */
  expect: (page: FileSearchView) => void;
}

interface SearchSubject {
  flavourId: string;
  revision: RepositoryRevisionSummary;
  /** "category/name" of the many-files layer. */
  layer: string;
  files: number;
  publishing: Publishing;
}

/** A flavour on `base` with one more layer of empty files, built; its revision must hold ≥ 50,000 files. */
async function prepareSearch(bench: Bench, base: { id: string }, baseFiles: number): Promise<SearchSubject> {
  const { customer } = bench.portal;
  const files = Math.max(MANY_FILES, MIN_REVISION_FILES - baseFiles);
  const layer: PackageDefinitionInput = {
    category: "layer",
    name: "many-files",
    version: "1",
    description: `${files} empty files under /opt/many`,
    requires: ["system/base"],
    steps: [`mkdir -p /opt/many && cd /opt/many && seq -f 'f%06g' 1 ${files} | xargs touch`],
  };
  const flavour = await fork(customer, base.id, "bench-search");
  const revision = await customer.post<RevisionView>(`/flavours/${flavour.id}/revisions`, { layers: [layer], parentRevision: flavour.latest.number, message: "add many-files" });
  const built = await build(bench, customer, flavour.id, revision.number);
  const publishing = await publishingOf(customer, flavour.id, built.build, built.lines, "search flavour");
  check(publishing.revision.fileCount >= MIN_REVISION_FILES, `the search revision has ${publishing.revision.fileCount} files, fewer than ${MIN_REVISION_FILES}`);
  say(`search flavour (+ ${files} files, the rest cached)`, publishing);
  return { flavourId: flavour.id, revision: publishing.revision, layer: "layer/many-files", files, publishing };
}

function queriesFor(subject: SearchSubject, exactPath: string): Query[] {
  const paths = (page: FileSearchView) => page.matches.map((m) => m.path);
  const basename = exactPath.slice(exactPath.lastIndexOf("/") + 1);
  const rare = "f031337";
  return [
    { kind: "exact path", q: exactPath, expect: (page) => check(paths(page).includes(exactPath), `a search for ${exactPath} does not find it`) },
    { kind: "basename", q: basename, expect: (page) => check(paths(page).includes(exactPath), `a search for ${basename} does not find ${exactPath}`) },
    {
      kind: "directory prefix",
      q: "/usr/lib/systemd/",
      expect: (page) => check(page.matches.length > 0 && paths(page).every((p) => p.includes("/usr/lib/systemd/")), "a search for /usr/lib/systemd/ finds nothing, or paths outside it"),
    },
    {
      kind: "rare substring",
      q: rare,
      expect: (page) =>
        check(
          page.matches.length === 1 && page.matches[0].path === `/opt/many/${rare}` && `${page.matches[0].package.category}/${page.matches[0].package.name}` === subject.layer,
          `a search for ${rare} should find only /opt/many/${rare} in ${subject.layer}; found ${JSON.stringify(page.matches.slice(0, 3))}`,
        ),
    },
    { kind: "no match", q: "no-such-file-zz", expect: (page) => check(page.matches.length === 0 && page.next === null, "a search for no-such-file-zz finds something") },
    {
      kind: "very common",
      q: "/usr/",
      expect: (page) => check(page.matches.length === SEARCH_LIMIT && page.next !== null, `a search for /usr/ should fill a page of ${SEARCH_LIMIT} and have more; it found ${page.matches.length}`),
    },
  ];
}

interface Latencies {
  byKind: Map<string, number[]>;
  me: number[];
}

async function timedMs<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
}

/** "Which package ships this path?" the way the page asks it, and GET /me after each search as the baseline. */
async function measureSearch(bench: Bench, subject: SearchSubject): Promise<{ queries: Query[]; latencies: Latencies }> {
  const { customer } = bench.portal;
  const route = (q: string) => `/flavours/${subject.flavourId}/repository/${subject.revision.number}/files?q=${encodeURIComponent(q)}&limit=${SEARCH_LIMIT}`;
  const search = (q: string) => customer.get<FileSearchView>(route(q));

  // The exact path: dpkg's when a package of the revision ships it (a base image's own files are in no package).
  const candidates = ["/usr/bin/dpkg", "/usr/lib/systemd/systemd", "/usr/bin/apt"];
  let exactPath: string | undefined;
  for (const candidate of candidates) {
    if ((await search(candidate)).matches.some((m) => m.path === candidate)) {
      exactPath = candidate;
      break;
    }
  }
  check(exactPath !== undefined, `no package of the search revision ships any of ${candidates.join(", ")}`);
  const queries = queriesFor(subject, exactPath);
  for (const query of queries) query.expect(await search(query.q));

  const [load] = os.loadavg();
  if (load > os.cpus().length) log(`warning: load average ${load.toFixed(1)} on ${os.cpus().length} cores: other work on this machine distorts the latencies`);
  for (let i = 0; i < WARM_UP_REQUESTS; i++) {
    await search(queries[i % queries.length].q);
    await customer.get("/me");
  }

  // Kinds in a new random order each cycle, so none always follows the same one.
  const latencies: Latencies = { byKind: new Map(queries.map((q) => [q.kind, []])), me: [] };
  for (let cycle = 0; cycle < SEARCHES_PER_KIND; cycle++) {
    const order = [...queries];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const query of order) {
      const [, searchMs] = await timedMs(() => search(query.q));
      latencies.byKind.get(query.kind)!.push(searchMs);
      const [, meMs] = await timedMs(() => customer.get("/me"));
      latencies.me.push(meMs);
    }
  }
  return { queries, latencies };
}

// ---------------------------------------------------------------------------------------------------------------
// The report

function table(header: string[], rows: string[][]): void {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   "));
}

function report(results: RoundResult[], search: SearchSubject, queries: Query[], passes: Array<{ label: string; latencies: Latencies }>): void {
  const sum = (pick: (r: RoundResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
  const publishingRow = (what: string, seconds: number, buildSeconds: number, target: boolean) => {
    const ratio = seconds / buildSeconds;
    return [what, `${seconds.toFixed(2)} s`, `${buildSeconds.toFixed(1)} s`, ratio.toFixed(3), target ? `≤ ${TARGETS.publishing.toFixed(2)}` : "—", target ? verdict(ratio <= TARGETS.publishing) : "(info)"];
  };
  console.log(`\nPublishing a repository revision, ${results.length} round(s)${SMOKE ? " — SMOKE (tiny base manifest; not a measurement)" : ""}`);
  table(
    ["", "publishing", "build", "publishing/build", "target", ""],
    [
      publishingRow("(a) first build, cold: artefacts uploaded", sum((r) => r.cold.seconds), sum((r) => r.cold.buildSeconds), true),
      publishingRow("(b) other organisation, cached: artefacts mounted", sum((r) => r.cached.seconds), sum((r) => r.cached.buildSeconds), true),
      publishingRow(`    search flavour: + ${search.files} files, the rest cached`, search.publishing.seconds, search.publishing.buildSeconds, false),
    ],
  );

  for (const pass of passes) searchReport(search, queries, pass.label, pass.latencies);
}

function searchReport(search: SearchSubject, queries: Query[], label: string, latencies: Latencies): void {
  const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const me = sorted(latencies.me);
  const all = sorted([...latencies.byKind.values()].flat());
  const ms = (value: number) => value.toFixed(1);
  const row = (what: string, query: string, values: number[]) => [
    what,
    query,
    String(values.length),
    ms(percentile(values, 50)),
    ms(percentile(values, 99)),
    ms(values[values.length - 1]),
    (percentile(values, 50) / percentile(me, 50)).toFixed(2),
    (percentile(values, 99) / percentile(me, 99)).toFixed(2),
  ];
  console.log(`\nFile search on repository revision ${search.revision.number} (${search.revision.fileCount} files, ${search.revision.packageCount} packages), limit=${SEARCH_LIMIT}, ${label}, ms`);
  table(
    ["", "q", "requests", "p50", "p99", "max", "p50/me", "p99/me"],
    [
      ...queries.map((q) => row(q.kind, q.q, sorted(latencies.byKind.get(q.kind)!))),
      row("all searches", "", all),
      row("baseline: GET /api/v1/me", "", me),
    ],
  );
  const p99 = percentile(all, 99);
  console.log(`search p99 ${ms(p99)} ms, target < ${TARGETS.searchP99Ms} ms: ${verdict(p99 < TARGETS.searchP99Ms)}`);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(teardown: Teardown): Promise<void> {
  const { services, portal, baseCopies, cacheKeys } = await startBenchStack(
    { dataDir, runDir, nonce, registryPort: REGISTRY_PORT, cacheRepository: CACHE_REPOSITORY, log },
    teardown,
  );
  const bench: Bench = {
    docker: services.docker,
    databaseUrl: services.databaseUrl,
    portal,
    otherCustomer: await customerOfNewOrg(services.databaseUrl, portal.customer.base, nonce, "other"),
    real: SMOKE ? null : await latestBaseManifest<BaseManifestView>(portal.customer),
    baseCopies,
    cacheKeys,
  };
  log(
    bench.real
      ? `base: ${bench.real.name} ${bench.real.version} (${bench.real.packages.length} packages); ${ROUNDS} publishing round(s), ${SEARCHES_PER_KIND * 6} searches`
      : `SMOKE: a one-package base manifest; ${ROUNDS} publishing round(s), ${SEARCHES_PER_KIND * 6} searches`,
  );

  const results: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) results.push(await measurePublishing(bench, round));
  // On round 1's base: only the many-files layer is built.
  const subject = await prepareSearch(bench, results[0].base, results[0].cold.revision.fileCount);
  // Twice: right after the revision's files went in, and once PostgreSQL has statistics on them (autovacuum gathers
  // them within a minute of a bulk insert; the planner's choices differ between the two).
  const fresh = await measureSearch(bench, subject);
  const { db, pool } = createDb(services.databaseUrl, { max: 1 });
  try {
    await db.execute(sql`analyze artefact_files`);
  } finally {
    await pool.end();
  }
  const analysed = await measureSearch(bench, subject);
  report(results, subject, fresh.queries, [
    { label: "right after the build", latencies: fresh.latencies },
    { label: "after ANALYZE", latencies: analysed.latencies },
  ]);
}

runBench(main, log);
