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
//   (e) a build whose step prints 1 GB of output (1000-character lines), with the default limits: the worker's peak RSS
//       (VmHWM of its process; target < 300 MB) and the time until the output limit fails the build, vs the engine
//       streaming the same output to a client that only counts it, up to the same limit (dockerode attach).
// BENCH_SMOKE=1: a one-package base manifest (an echo) instead of the real one, and (d) extracts the apt layer.
// `npm run bench:build -- output` runs (e) alone, on a lighter stack: PostgreSQL, the registry and one worker, no web
// server (the build is started with the lib, as the API would).
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
import { eq } from "drizzle-orm";
import { createDb } from "@/lib/db";
import { buildPackages, builds, users } from "@/lib/db/schema";
import { ensureAdmin } from "@/lib/auth/seed-admin";
import { signUp } from "@/lib/auth/sign-up";
import { loadActor } from "@/lib/auth/actor";
import { publishBaseManifest } from "@/lib/base-manifests/base-manifests";
import { createFlavour, saveRevision as saveFlavourRevision } from "@/lib/flavours/flavours";
import { startBuild } from "@/lib/builds/builds";
import { ensureBaseImage } from "@/lib/builder/base-image";
import { removeImage, LABEL } from "@/lib/builder/engine/images";
import { DEFAULT_OUTPUT_LIMITS } from "@/lib/builder/limits";
import { startProcess, waitFor } from "@/scripts/dev-stack/processes";
import { toManifestYaml } from "@/lib/manifest/yaml";
import type { RegistryService } from "@/scripts/dev-stack/registry";
import { dockerBuildAndPush, dockerContextOf, lastSavedLayer, saveTarZstd } from "./baseline";
import { copyBaseImage } from "./images";
import { latestBaseManifest, runBench, startBenchStack, startServices, type Api, type Portal, type Services, type Teardown } from "./stack";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const SMOKE = process.env.BENCH_SMOKE === "1";
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS || 1)) || 1);
const REGISTRY_PORT = 5077;
const POLL_MS = 200;
const BUILD_TIMEOUT_MS = 60 * 60_000;
const FIRST_APT = "tree";
const SECOND_APT = "jq";
const TARGETS = { cold: 1.1, layer: 1.0, rebuild: 0.5, extraction: 0.8, outputPeakRssMb: 300 };
/** (e): 1 GB of 1000-character lines (999 and the newline). */
const FLOOD_STEP = `yes "$(head -c 999 /dev/zero | tr '\\0' y)" | head -c 1000000000`;
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
// (e) a step printing 1 GB

interface OutputResult {
  /** The worker's resident memory before the flood build and its peak during it (VmRSS, VmHWM reset before it). */
  rssBeforeMb: number;
  peakRssMb: number;
  /** The flood package's start to the build's failure. */
  ours: number;
  /** The build's start (claimed by the worker) to its failure. */
  whole: number;
  /** The engine streaming the same output to a client that counts bytes, up to the same limit. */
  baseline: number;
  error: string;
  printed: { bytes: number; lines: number; dropped: number };
}

/** How (e) starts the flood build and reads it back: through the API (the full bench) or the lib (`-- output`). */
interface OutputRig {
  workerPid: number;
  /** Presses Build on the flavour's latest revision. */
  startBuild(): Promise<string>;
  /** Saves the revision with the flood layer. */
  addFloodLayer(): Promise<void>;
  /** The build row's state. */
  build(id: string): Promise<FloodBuild>;
}

type FloodBuild = { status: string; error: string | null; startedAt: Date | null; finishedAt: Date | null; logBytes: number; logLines: number; logDroppedLines: number; floodStartedAt: Date | null };

/** The build row, with when its flood package (the last) started. */
async function floodBuild(db: ReturnType<typeof createDb>["db"], id: string): Promise<FloodBuild> {
  const [row] = await db.select().from(builds).where(eq(builds.id, id));
  const packages = await db.select({ position: buildPackages.position, startedAt: buildPackages.startedAt }).from(buildPackages).where(eq(buildPackages.buildId, id));
  const flood = packages.sort((a, b) => b.position - a.position)[0];
  return { ...row, floodStartedAt: flood?.startedAt ?? null };
}

/** Kilobytes of a /proc/<pid>/status field, as MB. */
function procStatusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  check(m !== null, `no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** The baseline of (e): a container running the same step, its output read (and only counted) until the limit, then killed. */
async function engineStreamsToLimit(docker: Dockerode, limitBytes: number): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: DEFAULT_BASE_IMAGE,
    Cmd: ["/bin/sh", "-c", FLOOD_STEP],
    Labels: { [LABEL.managed]: "1", [LABEL.build]: `bench-${nonce}` },
    HostConfig: { LogConfig: { Type: "none", Config: {} } },
  });
  try {
    const raw = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    let bytes = 0;
    const reached = new Promise<void>((resolve) => {
      raw.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limitBytes) resolve();
      });
      raw.on("end", resolve);
    });
    await container.start();
    await reached;
    await container.kill().catch(() => {});
    return (performance.now() - started) / 1000;
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Resets a process's peak resident size (VmHWM) to its current one; false when the kernel does not let us. */
function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

async function measureOutput(rig: OutputRig, docker: Dockerode): Promise<OutputResult> {
  const untilFinal = async (id: string) => {
    const deadline = Date.now() + 10 * 60_000;
    let build = await rig.build(id);
    while (build.status === "queued" || build.status === "running") {
      check(Date.now() < deadline, "(e): a build did not end within 10 min");
      await sleep(POLL_MS);
      build = await rig.build(id);
    }
    return build;
  };
  // Untimed: the base image and the base package go to the shared cache, so the failed build pushes nothing.
  const warm = await untilFinal(await rig.startBuild());
  check(warm.status === "succeeded", `(e): the warm-up build ${warm.status}: ${warm.error}`);
  await rig.addFloodLayer();
  // The peak of this build, not of the rounds before it: writing 5 to clear_refs resets VmHWM to the current RSS
  // (Linux ≥ 4.0; when it cannot be written, the peak is the worker's whole life's and says so).
  const peakSinceNow = resetPeakRss(rig.workerPid);
  const rssBeforeMb = procStatusMb(rig.workerPid, "VmRSS");
  const build = await untilFinal(await rig.startBuild());
  const peakRssMb = procStatusMb(rig.workerPid, "VmHWM");
  if (!peakSinceNow) console.log("[bench] (e): could not reset the worker's VmHWM; its peak covers the worker's whole life");
  check(build.status === "failed" && build.error !== null, `(e): the flood build ${build.status}, not failed by the output limit: ${build.error}`);
  check(/printed more than/.test(build.error), `(e): the flood build failed for another reason: ${build.error}`);
  check(build.startedAt !== null && build.finishedAt !== null && build.floodStartedAt !== null, "(e): the build has no start or finish time");
  const ours = (build.finishedAt.getTime() - build.floodStartedAt.getTime()) / 1000;
  const whole = (build.finishedAt.getTime() - build.startedAt.getTime()) / 1000;
  const baseline = await engineStreamsToLimit(docker, DEFAULT_OUTPUT_LIMITS.maxBytes);
  const result = { rssBeforeMb, peakRssMb, ours, whole, baseline, error: build.error, printed: { bytes: build.logBytes, lines: build.logLines, dropped: build.logDroppedLines } };
  log(
    `(e) 1 GB of output: failed ${ours.toFixed(1)} s after the flood package started (${whole.toFixed(1)} s after the build did): "${build.error.split(";")[0]}"; worker RSS ${rssBeforeMb.toFixed(0)} MB before, peak ${peakRssMb.toFixed(0)} MB; ` +
      `log kept ${result.printed.lines} lines (${megabytes(result.printed.bytes)}), dropped ${result.printed.dropped}; the engine streamed ${DEFAULT_OUTPUT_LIMITS.maxBytes / 1024 / 1024} MB to a counting client in ${baseline.toFixed(1)} s`,
  );
  return result;
}

const floodLayer: PackageDefinitionInput = { category: "layer", name: "flood", version: "1", steps: [FLOOD_STEP] };

/** (e) in the full bench: the portal's worker, the API as a user would click. */
async function apiOutputRig(bench: Bench, databaseUrl: string, teardown: Teardown): Promise<OutputRig> {
  const { admin, customer } = bench.portal;
  const pid = bench.portal.workerPid();
  check(pid !== null, "(e): the worker did not say its pid");
  const manifest = await admin.post<{ id: string }>("/base-manifests", { yaml: manifestYaml(bench, true, `bench-${nonce}-flood`, DEFAULT_BASE_IMAGE) });
  const flavour = await customer.post<{ id: string; latest: RevisionView }>("/flavours", { baseManifestId: manifest.id, name: "bench-flood" });
  const { db, pool } = createDb(databaseUrl, { max: 1 });
  teardown.defer("close the bench's database connection", () => pool.end());
  return {
    workerPid: pid,
    startBuild: async () => (await customer.post<BuildView>(`/flavours/${flavour.id}/builds`, {})).id,
    addFloodLayer: async () => {
      await customer.post(`/flavours/${flavour.id}/revisions`, { layers: [floodLayer], parentRevision: flavour.latest.number, message: "a step printing 1 GB" });
    },
    build: async (id) => {
      const row = await floodBuild(db, id);
      // Its packages' cache images are removed with the bench's others at the end.
      for (const p of await db.select({ key: buildPackages.cacheKey }).from(buildPackages).where(eq(buildPackages.buildId, id))) if (p.key) bench.cacheKeys.add(p.key);
      return row;
    },
  };
}

/** `-- output`: PostgreSQL, the registry and one worker of the bench's own; the build started with the lib. */
async function outputOnly(teardown: Teardown): Promise<void> {
  const services: Services = await startServices({ dataDir, runDir, registryPort: REGISTRY_PORT, log }, teardown);
  await ensureBaseImage(services.docker, DEFAULT_BASE_IMAGE, { workDir: dataDir });
  const { db, pool } = createDb(services.databaseUrl, { max: 3 });
  teardown.defer("close the bench's database connections", () => pool.end());
  // startBuild hands the job to pg-boss on this database, as the web server would.
  process.env.DATABASE_URL = services.databaseUrl;
  const password = `Bench-${randomBytes(12).toString("base64url")}-9z`;
  await ensureAdmin(db, { email: "admin@bench.strata.test", password });
  const [adminRow] = await db.select({ id: users.id }).from(users).where(eq(users.email, "admin@bench.strata.test"));
  const adminActor = await loadActor(db, adminRow.id, "session");
  const account = await signUp(db, { email: `bench-${nonce}@bench.strata.test`, name: "Benchmark", organisation: `Bench ${nonce}`, password });
  const customer = await loadActor(db, account.userId, "session");
  const echo: PackageDefinitionInput = { category: "system", name: "base", version: "1", steps: [`echo 'strata bench ${nonce}' > /etc/strata-bench`] };
  const yaml = toManifestYaml({ name: "bench-flood", version: `bench-${nonce}`, base_image: DEFAULT_BASE_IMAGE, description: "One package that writes a file.", packages: [echo] });
  const manifest = await publishBaseManifest(db, adminActor, { yaml });
  const flavour = await createFlavour(db, customer, { baseManifestId: manifest.id, name: "bench-flood" });

  const worker = startProcess("worker", "workers/index.ts", {
    ...process.env,
    DATABASE_URL: services.databaseUrl,
    STRATA_DATA_DIR: runDir,
    REGISTRY_URL: services.registry.url,
    STRATA_CACHE_REPOSITORY: CACHE_REPOSITORY,
    STRATA_LOG_REQUESTS: "0",
  });
  teardown.defer("stop the worker", () => worker.stop());
  let pid: number | null = null;
  worker.child.stdout!.on("data", (chunk: Buffer) => {
    const ready = /\] ready \(pid (\d+)/.exec(chunk.toString());
    if (ready) pid = Number(ready[1]);
  });
  await waitFor("the worker", async () => pid !== null, 120_000);
  const cacheKeys: string[] = [];
  teardown.defer("remove the bench's cache images", async () => {
    for (const key of cacheKeys) await removeImage(services.docker, cacheTag(key), undefined, { force: true }).catch(() => {});
  });
  const result = await measureOutput(
    {
      workerPid: pid!,
      startBuild: async () => (await startBuild(db, customer, flavour.id, {})).id,
      addFloodLayer: async () => {
        await saveFlavourRevision(db, customer, flavour.id, { layers: [floodLayer] });
      },
      build: (id) => floodBuild(db, id),
    },
    services.docker,
  );
  for (const row of await db.select({ key: buildPackages.cacheKey }).from(buildPackages)) if (row.key) cacheKeys.push(row.key);
  reportOutput(result);
}

function reportOutput(result: OutputResult): void {
  console.log(`\n(e) a step printing 1 GB of output, default limits (${DEFAULT_OUTPUT_LIMITS.maxBytes / 1024 / 1024} MB, ${DEFAULT_OUTPUT_LIMITS.maxLines} lines, ${DEFAULT_OUTPUT_LIMITS.linesPerSecond} lines/s)`);
  const pass = result.peakRssMb < TARGETS.outputPeakRssMb;
  console.log(`  worker peak RSS        ${result.peakRssMb.toFixed(0)} MB (before the build ${result.rssBeforeMb.toFixed(0)} MB)   target < ${TARGETS.outputPeakRssMb} MB   ${pass ? "PASS" : "MISS"}`);
  console.log(`  time to the failure    ${result.ours.toFixed(1)} s from the flood package's start (${result.whole.toFixed(1)} s from the build's); the engine streaming to the limit ${result.baseline.toFixed(1)} s; ours/baseline ${(result.ours / result.baseline).toFixed(2)}`);
  console.log(`  failure                ${result.error}`);
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
  const output = await measureOutput(await apiOutputRig(bench, services.databaseUrl, teardown), bench.docker);
  report(results);
  reportOutput(output);
}

runBench(process.argv[2] === "output" ? outputOnly : main, log);
