// Benchmark of what users get from a build, against the stock Docker tools on the same engine, in one run:
// `npm run bench:build` (BENCH_ROUNDS=<n> repeats the measured round, default 1; BENCH_SMOKE=1 checks the bench itself).
//
// It starts the real stack on ports and data of its own (.data/bench/run-<nonce>, deleted at the end): a fresh embedded
// PostgreSQL, the machine's Docker engine (dockerd is started only when none answers), a registry on 127.0.0.1:5077,
// the web server and ONE worker with default build settings. It drives the REST API with a personal access token, as a
// user's clicks would, and times from the click to the image in the registry (the build's finishedAt, which the worker
// sets once the pushed image is verified, so polling for the result adds nothing):
//   (a) cold: Build of a flavour = the latest bundled base manifest + one apt layer (tree), vs a hand-written
//       Dockerfile of the same steps: `docker build --no-cache` + `docker push` (Docker 20.10's classic builder);
//   (b) one added layer (jq): save the revision + Build, vs `docker build` on the warm cache (only the new RUN runs) + push;
//   (c) Build again of the unchanged revision, vs (b)'s baseline;
//   (d) extraction of the biggest package layer (the kernel's) with the builder's extractArtefact as builds run it
//       (the layer's blob from the registry's shared cache), vs `docker save | tar -xO <layer> | zstd -1 -T0 > file`,
//       in MB/s of the uncompressed layer; the engine's save stream (the fallback) is timed and printed too.
// Cold without harming the machine's cache: each round builds on a copy of strata/debian:bookworm with a new image id
// and the same layers, published (as admin, through the API) as a base manifest version bench-<nonce>-r<n> that is the
// real one with only base_image changed. Cache keys start from the base image's id, so every key is new; the worker's
// shared cache repository on the registry (STRATA_CACHE_REPOSITORY=bench-cache-<nonce>) is new too. Before measuring,
// one small untimed cold build on each side pays for DNS and the Debian mirror's first connections. Rounds alternate
// which side goes first; ratios are of summed times. Everything it started, and every image descending from its base
// copies, is removed at the end, on failure and on Ctrl-C too. Nothing but 127.0.0.1 is reached, except Debian's
// archive from the build containers.
// BENCH_SMOKE=1: a one-package base manifest (an echo) instead of the real one, and (d) extracts the apt layer.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import { ArtefactStore } from "@/lib/builder/artefact-store";
import { DEFAULT_BASE_IMAGE } from "@/lib/builder/base-image";
import { cacheTag, inspectImage } from "@/lib/builder/engine/images";
import { compressionFromEnv, extractArtefact } from "@/lib/builder/extract";
import { RegistryClient } from "@/lib/registry/client";
import type { ManifestHeader, PackageDefinition, PackageDefinitionInput } from "@/lib/manifest/schema";
import { toManifestYaml } from "@/lib/manifest/yaml";
import type { RegistryService } from "@/scripts/dev-stack/registry";
import { dockerBuildAndPush, dockerContextOf, lastSavedLayer, saveTarZstd } from "./baseline";
import { copyBaseImage } from "./images";
import { latestBaseManifest, runBench, startBenchStack, type Api, type Portal, type Teardown } from "./stack";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const SMOKE = process.env.BENCH_SMOKE === "1";
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS || 1)) || 1);
const REGISTRY_PORT = 5077;
const POLL_MS = 200;
const BUILD_TIMEOUT_MS = 60 * 60_000;
const FIRST_APT = "tree";
const SECOND_APT = "jq";
const TARGETS = { cold: 1.1, layer: 1.0, rebuild: 0.5, extraction: 0.8 };
const dataDir = path.resolve(".data/bench");
const runDir = path.join(dataDir, `run-${nonce}`);
const CACHE_REPOSITORY = `bench-cache-${nonce}`;
const log = (msg: string) => console.log(`[bench] ${msg}`);

// ---------------------------------------------------------------------------------------------------------------
// What the API answers (only the fields the bench reads)

interface RevisionView {
  number: number;
  layers: PackageDefinition[];
  /** Base packages then layers: what a build installs, in order. */
  packages: PackageDefinition[];
}
interface BaseManifestView {
  id: string;
  name: string;
  version: string;
  header: ManifestHeader;
  packages: PackageDefinition[];
}
interface BuildView {
  id: string;
  version: string;
  status: string;
  error: string | null;
  imageRef: string | null;
  /** Set by the worker once the image is pushed and verified. */
  finishedAt: string | null;
  packages: { position: number; packageId: string; cached: boolean | null; cacheKey: string | null; artefact: { uncompressedSize: number } | null }[];
}

interface Bench {
  docker: Dockerode;
  registry: RegistryService;
  portal: Portal;
  /** The latest bundled base manifest; null in smoke mode. */
  real: BaseManifestView | null;
  /** Ids of the base copies: everything the bench builds descends from one of them. */
  baseCopies: string[];
  /** Cache keys of the bench's builds, whose strata-cache:<key> images are removed at the end. */
  cacheKeys: Set<string>;
}

/** A flavour forked from a base manifest on a fresh base copy, with its first layers saved. */
interface Subject {
  label: string;
  base: { ref: string; id: string };
  flavourId: string;
  revision: RevisionView;
}

/** "812 MB", "1.4 MB": whole megabytes once there are enough of them. */
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, (performance.now() - started) / 1000];
}

/**
 * Click → image pushed: from just before the first request to the build's finishedAt, which the worker sets once the
 * pushed image is verified (same machine, same clock). Our polling for the result then adds nothing, as the
 * baseline's `docker push` returning adds nothing to its side.
 */
async function clickToPushed<T>(fn: () => Promise<T>, buildOf: (value: T) => BuildView): Promise<[T, number]> {
  const clicked = Date.now();
  const value = await fn();
  const finished = buildOf(value).finishedAt;
  check(finished !== null, "a succeeded build without finishedAt");
  return [value, (Date.parse(finished) - clicked) / 1000];
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------------------------
// Our side, through the API


/** The manifest a round builds on: the real one (or the smoke one) with only its version and base image changed. */
function manifestYaml(bench: Bench, tiny: boolean, version: string, baseImage: string): string {
  if (!tiny && bench.real) return toManifestYaml({ ...bench.real.header, version, base_image: baseImage, packages: bench.real.packages });
  // Named system/base because catalog layers require that package.
  const echo: PackageDefinitionInput = { category: "system", name: "base", version: "1", steps: ["echo 'strata bench' > /etc/strata-bench"] };
  return toManifestYaml({ name: "bench-smoke", version, base_image: baseImage, description: "One package that writes a file.", packages: [echo] });
}

async function aptLayer(api: Api, pkg: string): Promise<PackageDefinition> {
  return (await api.post<{ layer: PackageDefinition }>("/catalog/debian-packages", { packages: [pkg] })).layer;
}

function saveRevision(api: Api, flavourId: string, after: RevisionView, layer: PackageDefinition): Promise<RevisionView> {
  return api.post<RevisionView>(`/flavours/${flavourId}/revisions`, { layers: [...after.layers, layer], parentRevision: after.number, message: `add ${layer.name}` });
}

/** A base copy, its base manifest version (published as admin) and a customer's flavour of it with one apt layer. */
async function prepareSubject(bench: Bench, label: string, tiny: boolean): Promise<Subject> {
  const { admin, customer } = bench.portal;
  const base = await copyBaseImage(bench.docker, DEFAULT_BASE_IMAGE, `strata/debian:bench-${nonce}-${label}`, `${nonce}-${label}`);
  bench.baseCopies.push(base.id);
  const manifest = await admin.post<{ id: string }>("/base-manifests", { yaml: manifestYaml(bench, tiny, `bench-${nonce}-${label}`, base.ref) });
  const flavour = await customer.post<{ id: string; latest: RevisionView }>("/flavours", { baseManifestId: manifest.id, name: `bench-${label}` });
  const revision = await saveRevision(customer, flavour.id, flavour.latest, await aptLayer(customer, FIRST_APT));
  return { label, base, flavourId: flavour.id, revision };
}

async function logTail(api: Api, buildId: string, lines = 30): Promise<string> {
  const all: string[] = [];
  for (let after = 0; ; ) {
    const page = (await api.get<{ lines: { id: number; line: string }[] }>(`/builds/${buildId}/logs?after=${after}&limit=5000`)).lines;
    all.push(...page.map((l) => l.line));
    if (page.length < 5000) break;
    after = page[page.length - 1].id;
  }
  return all.slice(-lines).join("\n");
}

/** Presses Build on `revision` and polls the build until it is final; throws unless it succeeded. */
async function buildToPushed(bench: Bench, flavourId: string, revision: number): Promise<BuildView> {
  const { customer } = bench.portal;
  const { id } = await customer.post<BuildView>(`/flavours/${flavourId}/builds`, { revision });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    bench.portal.assertRunning();
    const build = await customer.get<BuildView>(`/builds/${id}`);
    for (const p of build.packages) if (p.cacheKey) bench.cacheKeys.add(p.cacheKey);
    if (build.status === "succeeded") {
      // The worker's own account of where the time went.
      const time = (await logTail(customer, id, 5)).split("\n").find((line) => line.startsWith("[strata] time:"));
      if (time) log(`  build ${build.version}: ${time.slice("[strata] ".length)}`);
      return build;
    }
    if (build.status === "failed" || build.status === "cancelled") {
      throw new Error(`build ${build.version} ${build.status}: ${build.error}\nlast lines of its log:\n${await logTail(customer, id)}`);
    }
    check(Date.now() < deadline, `build ${build.version} did not finish within ${BUILD_TIMEOUT_MS / 60_000} min`);
    await sleep(POLL_MS);
  }
}

/** The registry has `<repository>:<tag>` of `ref` (as a docker pull would ask for it). */
async function assertPushed(registry: RegistryService, ref: string | null): Promise<void> {
  const m = ref ? /^[^/]+\/(.+):([^:/]+)$/.exec(ref) : null;
  check(m !== null, `not an image reference: ${ref}`);
  const res = await fetch(`${registry.apiBase}/v2/${m[1]}/manifests/${m[2]}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  check(res.ok, `${ref} is not in the registry (HTTP ${res.status})`);
}

// ---------------------------------------------------------------------------------------------------------------
// The baseline side

async function baselineBuild(bench: Bench, subject: Subject, packages: PackageDefinition[], tag: string, noCache: boolean) {
  const ref = `${bench.registry.url}/bench-${nonce}/dockerfile:${tag}`;
  const context = await dockerContextOf(subject.base.ref, packages);
  const result = await dockerBuildAndPush(context, ref, { noCache });
  await assertPushed(bench.registry, ref);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The measurements

interface RoundResult {
  cold: { ours: number; baseline: number };
  layer: { ours: number; baseline: number };
  rebuild: number;
  extraction: { packageId: string; bytes: number; ours: number; baseline: number };
}

/** Rounds alternate which side goes first: warm mirror connections or page caches then favour each side in turn. */
const oursFirstIn = (round: number) => round % 2 === 1;

/** Runs `ours` and `baseline` one after the other, in the order given. */
async function pair<A, B>(oursFirst: boolean, ours: () => Promise<A>, baseline: () => Promise<B>): Promise<[A, B]> {
  if (oursFirst) {
    const a = await ours();
    return [a, await baseline()];
  }
  const b = await baseline();
  return [await ours(), b];
}

/** One untimed small cold build on each side: the first apt run after an engine start pays for DNS and the mirror. */
async function warmUp(bench: Bench): Promise<void> {
  const subject = await prepareSubject(bench, "warmup", true);
  const [, seconds] = await clickToPushed(() => buildToPushed(bench, subject.flavourId, subject.revision.number), (b) => b);
  const baseline = await baselineBuild(bench, subject, subject.revision.packages, "warmup", true);
  log(`warm-up (untimed): ours ${seconds.toFixed(1)} s, docker build ${baseline.seconds.toFixed(1)} s`);
}

/** (d) on the biggest package layer of `build`: the builder's extraction and the stock pipeline, once each. */
async function measureExtraction(bench: Bench, subject: Subject, build: BuildView, round: number): Promise<RoundResult["extraction"]> {
  const biggest = [...build.packages].sort((a, b) => (b.artefact?.uncompressedSize ?? 0) - (a.artefact?.uncompressedSize ?? 0))[0];
  const imageOf = async (key: string | null) => {
    const image = key ? await inspectImage(bench.docker, cacheTag(key)) : null;
    check(image !== null, `the engine has no cache image for key ${key}`);
    return image.Id;
  };
  const imageId = await imageOf(biggest.cacheKey);
  const parentImageId = biggest.position === 0 ? subject.base.id : await imageOf(build.packages[biggest.position - 1].cacheKey);
  const definition = subject.revision.packages[biggest.position];
  // Untimed: finds the layer in the save stream, and leaves the image's files in the page cache for both sides.
  const layer = await lastSavedLayer(bench.docker, imageId);
  const store = new ArtefactStore(path.join(runDir, `extract-${subject.label}`));
  const compression = compressionFromEnv();
  const out = path.join(runDir, `layer-${subject.label}.tar.zst`);
  try {
    const filter = { includes: definition.includes, excludes: definition.excludes };
    // As builds extract: the layer's blob from the registry, where the shared cache pushed it.
    const registry = { client: new RegistryClient(bench.registry.url), repository: CACHE_REPOSITORY, tag: biggest.cacheKey! };
    const [[artefact, ours], baseline] = await pair(
      oursFirstIn(round),
      () => timed(() => extractArtefact(bench.docker, { imageId, parentImageId, filter, store, registry, compression })),
      () => saveTarZstd(imageId, layer.path, out),
    );
    check(artefact.method === "registry", `(d): the extraction read ${artefact.method}, not the registry`);
    // The fallback when the registry lacks the layer, for the record: the engine's save stream.
    const [fallback, fallbackSeconds] = await timed(() => extractArtefact(bench.docker, { imageId, parentImageId, filter, store, method: "save", compression }));
    check(fallback.digest === artefact.digest, "(d): the save stream and the registry gave different artefacts");
    log(
      `round ${round} (d) ${biggest.packageId}: layer ${megabytes(layer.bytes)}; ours ${ours.toFixed(1)} s from the registry (${compression.kind} ${compression.level} → ${megabytes(artefact.size)}), ` +
        `${fallbackSeconds.toFixed(1)} s from the engine's save stream; docker save | tar | zstd -1 ${baseline.toFixed(1)} s (→ ${megabytes(fs.statSync(out).size)})`,
    );
    return { packageId: biggest.packageId, bytes: layer.bytes, ours, baseline };
  } finally {
    fs.rmSync(store.root, { recursive: true, force: true });
    fs.rmSync(out, { force: true });
  }
}

async function measureRound(bench: Bench, round: number): Promise<RoundResult> {
  const subject = await prepareSubject(bench, `r${round}`, SMOKE);
  const oursFirst = oursFirstIn(round);
  const { customer } = bench.portal;
  const say = (what: string, ours: number, baseline: number) => log(`round ${round} ${what}: ours ${ours.toFixed(1)} s, docker ${baseline.toFixed(1)} s`);

  // (a) cold
  const [[cold, coldSeconds], coldBaseline] = await pair(
    oursFirst,
    () => clickToPushed(() => buildToPushed(bench, subject.flavourId, subject.revision.number), (b) => b),
    () => baselineBuild(bench, subject, subject.revision.packages, `r${round}-cold`, true),
  );
  check(cold.packages.every((p) => p.cached === false), "(a): our cold build reused a cached package; the base copy did not make the keys new");
  await assertPushed(bench.registry, cold.imageRef);
  say(`(a) cold, ${cold.packages.length} packages`, coldSeconds, coldBaseline.seconds);

  // (b) one added layer: saving the revision is part of what the user waits for
  const extra = await aptLayer(customer, SECOND_APT);
  const [[{ revision, build: layered }, layerSeconds], layerBaseline] = await pair(
    oursFirst,
    () =>
      clickToPushed(
        async () => {
          const revision = await saveRevision(customer, subject.flavourId, subject.revision, extra);
          return { revision, build: await buildToPushed(bench, subject.flavourId, revision.number) };
        },
        (v) => v.build,
      ),
    () => baselineBuild(bench, subject, [...subject.revision.packages, extra], `r${round}-layer`, false),
  );
  check(layered.packages.filter((p) => !p.cached).length === 1, "(b): our build of the added layer rebuilt more than that layer");
  check(layerBaseline.stepsRun === 1, `(b): docker build ran ${layerBaseline.stepsRun} instructions, not only the new RUN; its cache was not warm`);
  await assertPushed(bench.registry, layered.imageRef);
  say("(b) one added layer", layerSeconds, layerBaseline.seconds);

  // (c) the same revision again
  const [rebuild, rebuildSeconds] = await clickToPushed(() => buildToPushed(bench, subject.flavourId, revision.number), (b) => b);
  check(rebuild.packages.every((p) => p.cached), "(c): the rebuild of an unchanged revision built a package");
  await assertPushed(bench.registry, rebuild.imageRef);
  say("(c) unchanged rebuild (vs (b)'s docker)", rebuildSeconds, layerBaseline.seconds);

  const extraction = await measureExtraction(bench, subject, cold, round);
  return { cold: { ours: coldSeconds, baseline: coldBaseline.seconds }, layer: { ours: layerSeconds, baseline: layerBaseline.seconds }, rebuild: rebuildSeconds, extraction };
}

// ---------------------------------------------------------------------------------------------------------------
// The report

function report(results: RoundResult[]): void {
  const sum = (pick: (r: RoundResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const s = (seconds: number) => `${seconds.toFixed(1)} s`;
  const cold = { ours: sum((r) => r.cold.ours), baseline: sum((r) => r.cold.baseline) };
  const layer = { ours: sum((r) => r.layer.ours), baseline: sum((r) => r.layer.baseline) };
  const rebuild = sum((r) => r.rebuild);
  const bytes = sum((r) => r.extraction.bytes);
  const mbps = (seconds: number) => `${megabytes(bytes / seconds)}/s`;
  const extraction = { ours: sum((r) => r.extraction.ours), baseline: sum((r) => r.extraction.baseline) };
  const rows = [
    { what: "(a) cold: Build → pushed", ours: s(cold.ours), baseline: s(cold.baseline), ratio: cold.ours / cold.baseline, target: TARGETS.cold, atMost: true },
    { what: "(b) one added layer: save + Build → pushed", ours: s(layer.ours), baseline: s(layer.baseline), ratio: layer.ours / layer.baseline, target: TARGETS.layer, atMost: true },
    { what: "(c) unchanged revision: Build → pushed", ours: s(rebuild), baseline: `${s(layer.baseline)} (b)`, ratio: rebuild / layer.baseline, target: TARGETS.rebuild, atMost: true },
    {
      what: `(d) extraction of ${results[0].extraction.packageId}`,
      ours: mbps(extraction.ours),
      baseline: mbps(extraction.baseline),
      ratio: extraction.baseline / extraction.ours,
      target: TARGETS.extraction,
      atMost: false,
    },
  ];
  const header = ["", "ours", "baseline", "ours/baseline", "target", ""];
  const cells = rows.map((r) => [r.what, r.ours, r.baseline, r.ratio.toFixed(2), `${r.atMost ? "≤" : "≥"} ${r.target.toFixed(2)}`, (r.atMost ? r.ratio <= r.target : r.ratio >= r.target) ? "PASS" : "MISS"]);
  const widths = header.map((_, i) => Math.max(...[header, ...cells].map((row) => row[i].length)));
  console.log(`\nStrata builder vs docker build, ${results.length} round(s)${SMOKE ? " — SMOKE (tiny base manifest; not a measurement)" : ""}`);
  for (const row of [header, ...cells]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   "));
}

// ---------------------------------------------------------------------------------------------------------------

async function main(teardown: Teardown): Promise<void> {
  const { services, portal, baseCopies, cacheKeys } = await startBenchStack(
    { dataDir, runDir, nonce, registryPort: REGISTRY_PORT, cacheRepository: CACHE_REPOSITORY, log },
    teardown,
  );
  const bench: Bench = { ...services, portal, real: SMOKE ? null : await latestBaseManifest<BaseManifestView>(portal.customer), baseCopies, cacheKeys };
  log(
    bench.real
      ? `flavour: ${bench.real.name} ${bench.real.version} (${bench.real.packages.length} packages) + apt ${FIRST_APT}, then + apt ${SECOND_APT}; ${ROUNDS} round(s)`
      : `SMOKE: a one-package base manifest + apt ${FIRST_APT}, then + apt ${SECOND_APT}; ${ROUNDS} round(s)`,
  );

  await warmUp(bench);
  const results: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) results.push(await measureRound(bench, round));
  report(results);
}

runBench(main, log);
