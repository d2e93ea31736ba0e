// Benchmark of the build engine against the engine's own `docker build`, measured in one run on this machine: `npx tsx bench/build.ts`.
//
// (a) cold build + push of a small flavour vs the same steps as a hand-written Dockerfile (no cache) + push
// (b) the +1-layer rebuild vs `docker build` of that one extra step on a warm cache + push
// (c) extraction throughput of one layer vs `docker save | tar -xO <layer> | gzip -6`
// Prints ratios (ours / baseline for times, ours / baseline for throughput).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { PackageDefinitionSchema, type PackageDefinition } from "../lib/manifest/schema";
import { ensureDockerEngine } from "../scripts/dev-stack/docker";
import { ensureRegistry } from "../scripts/dev-stack/registry";
import { ArtefactStore } from "../lib/builder/artefact-store";
import { DEFAULT_BASE_IMAGE, ensureBaseImage } from "../lib/builder/base-image";
import { followProgress } from "../lib/builder/engine/streams";
import { removeImage, sweepLeftovers } from "../lib/builder/engine/images";
import { extractArtefact } from "../lib/builder/extract";
import { tagAndPush } from "../lib/builder/push";
import { runPackages, type BuildLimits } from "../lib/builder/run-packages";

const dataDir = path.resolve(".data/bench");
const nonce = randomBytes(4).toString("hex");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TINY_REPEATS = 5;
const limits: BuildLimits = { memoryBytes: 2 * 1024 ** 3, nanoCpus: 2_000_000_000, pidsLimit: 1024, stepTimeoutMs: 600_000 };
const apt = (pkgs: string) => [
  "apt-get update",
  `apt-get install -y --no-install-recommends ${pkgs}`,
  "rm -rf /var/lib/apt/lists/*",
];

// A nonce in each description makes every key new, so our side is as cold as `--no-cache`; each
// round of the bench has its own.
const pkg = (round: string, name: string, steps: string[]): PackageDefinition =>
  PackageDefinitionSchema.parse({ category: "bench", name, version: "1", description: round, steps, excludes: ["^/var/cache/"] });

function packagesFor(round: string) {
  const flavour = [
    pkg(round, "net", apt("ca-certificates curl")),
    pkg(round, "tools", apt("jq less")),
    pkg(round, "motd", ["echo 'bench flavour' > /etc/motd", "mkdir -p /opt/bench && date > /opt/bench/built"]),
  ];
  // The tiny step is measured several times a round; its text differs each time so both sides miss.
  const extraTiny = (rep: number) => pkg(round, "tiny", [`echo tiny-${rep} > /opt/bench/tiny`]);
  return { flavour, extraApt: pkg(round, "extra", apt("tree")), extraTiny };
}

/** The Dockerfile a person would write for the same packages: one RUN per package, one layer each. */
function dockerfile(packages: PackageDefinition[]): string {
  // The round's nonce in a LABEL keeps rounds from sharing the classic builder's cache.
  const lines = [`FROM ${DEFAULT_BASE_IMAGE}`, "ARG DEBIAN_FRONTEND=noninteractive", `LABEL bench=${packages[0].description}`];
  for (const p of packages) lines.push(`RUN ${p.steps.join(" && ")}`);
  return lines.join("\n") + "\n";
}

async function dockerBuild(docker: Dockerode, packages: PackageDefinition[], reference: string, nocache: boolean) {
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile" }, dockerfile(packages));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const stream = await docker.buildImage(Buffer.concat(chunks) as unknown as NodeJS.ReadableStream, {
    t: reference,
    nocache,
    rm: true,
    forcerm: true,
  });
  await followProgress(stream);
}

async function dockerPush(docker: Dockerode, reference: string) {
  const colon = reference.lastIndexOf(":");
  const stream = (await docker
    .getImage(reference.slice(0, colon))
    .push({ tag: reference.slice(colon + 1), authconfig: {} } as Record<string, unknown>)) as NodeJS.ReadableStream;
  await followProgress(stream);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, (performance.now() - started) / 1000];
}

function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-ec", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}`))));
  });
}

/** Baseline for (c): the stock tools on the same layer. The layer's path in the save is looked up first, untimed. */
async function baselineExtract(image: string): Promise<number> {
  const manifest = JSON.parse(await sh(`docker save ${image} | tar -xO manifest.json`)) as { Layers: string[] }[];
  const layer = manifest[0].Layers[manifest[0].Layers.length - 1];
  const [, seconds] = await timed(() => sh(`docker save ${image} | tar -xO ${layer} | gzip -6 > /dev/null`));
  return seconds;
}

const fmt = (n: number) => n.toFixed(2);

async function main() {
  fs.mkdirSync(dataDir, { recursive: true });
  const engine = await ensureDockerEngine({ dataDir });
  // Throwaway storage for this run: a registry we start keeps its blobs here, and all is deleted at the end.
  const runDir = path.join(dataDir, `run-${nonce}`);
  const registry = await ensureRegistry({ dataDir: runDir });
  const docker = engine.docker;
  const store = new ArtefactStore(path.join(runDir, "artefacts"));
  const buildId = `bench-${nonce}`;
  const cleanup: string[] = [];
  const built: { cacheKey: string }[] = [];
  try {
    await ensureBaseImage(docker, DEFAULT_BASE_IMAGE, { workDir: path.join(dataDir, "work") });
    const ours = (packages: PackageDefinition[], tag: string) =>
      timed(async () => {
        const result = await runPackages({ docker, baseImage: DEFAULT_BASE_IMAGE, packages, buildId, limits, artefactStore: store });
        const pushed = await tagAndPush(docker, result.imageId, { registry: registry.url, repository: `bench-${nonce}/ours`, tag });
        built.push(...result.packages.filter((p) => !p.cached));
        return { result, pushed };
      });
    const theirs = (packages: PackageDefinition[], tag: string, nocache: boolean) => {
      const reference = `${registry.url}/bench-${nonce}/dockerfile:${tag}`;
      cleanup.push(reference);
      return timed(async () => {
        await dockerBuild(docker, packages, reference, nocache);
        await dockerPush(docker, reference);
      });
    };

    // One untimed cold build on each side first: the first apt run after an engine start pays for DNS, the
    // mirror's connection and cold page caches, which would otherwise land on whichever side goes first.
    await theirs(packagesFor(`${nonce}-warmup-d`).flavour, "warmup", true);
    await ours(packagesFor(`${nonce}-warmup-o`).flavour, "warmup");

    // Other work on the machine makes single timings noisy: every comparison runs in several rounds,
    // alternating which side goes first (warm mirror or page caches then favour each side in turn),
    // and the ratio is of the summed times.
    const totals = { cold: [0, 0], apt: [0, 0], tiny: [0, 0] };
    let cold: Awaited<ReturnType<typeof ours>>[0] | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const id = `${nonce}-${round}`;
      const { flavour, extraApt, extraTiny } = packagesFor(id);
      const pair = async (name: keyof typeof totals, packages: PackageDefinition[], nocache: boolean, rep = 0) => {
        const runOurs = () => ours(packages, `${name}-${id}-${rep}`);
        const runTheirs = () => theirs(packages, `${name}-${id}-${rep}`, nocache);
        let oursResult: Awaited<ReturnType<typeof ours>>;
        let theirsSeconds: number;
        if ((round + rep) % 2 === 0) {
          oursResult = await runOurs();
          [, theirsSeconds] = await runTheirs();
        } else {
          [, theirsSeconds] = await runTheirs();
          oursResult = await runOurs();
        }
        totals[name][0] += oursResult[1];
        totals[name][1] += theirsSeconds;
        console.log(`    round ${round + 1} ${name}: ours ${fmt(oursResult[1])}s, docker ${fmt(theirsSeconds)}s`);
        return oursResult[0];
      };
      const coldRun = await pair("cold", flavour, true);
      cold ??= coldRun;
      const warm = await pair("apt", [...flavour, extraApt], false);
      if (warm.result.packages.filter((p) => !p.cached).length !== 1) throw new Error("the +1 rebuild rebuilt more than one package");
      for (let rep = 0; rep < TINY_REPEATS; rep++) await pair("tiny", [...flavour, extraTiny(rep)], false, rep);
    }
    const ratio = (name: keyof typeof totals) => totals[name][0] / totals[name][1];
    console.log(`(a) cold build+push, ${ROUNDS} rounds: ours ${fmt(totals.cold[0])}s, docker build ${fmt(totals.cold[1])}s, ratio ${fmt(ratio("cold"))} (target <= 1.15)`);
    console.log(`(b) +1 layer (apt) rebuild+push: ours ${fmt(totals.apt[0])}s, docker build ${fmt(totals.apt[1])}s, ratio ${fmt(ratio("apt"))} (target <= 1.3)`);
    console.log(`    +1 layer (echo, ${TINY_REPEATS} per round) rebuild+push: ours ${fmt(totals.tiny[0])}s, docker build ${fmt(totals.tiny[1])}s, ratio ${fmt(ratio("tiny"))}`);

    // (c) extraction of one layer: the biggest of the cold build, and the base root filesystem.
    // Best of two for each side, for the same reason as the rounds above.
    const packages = cold!.result.packages;
    const biggest = [...packages].sort((a, b) => b.artefact.uncompressedSize - a.artefact.uncompressedSize)[0];
    const parentOfBiggest = packages[packages.indexOf(biggest) - 1]?.imageId ?? DEFAULT_BASE_IMAGE;
    const layers = [
      { name: `package ${biggest.id}`, image: biggest.imageId, parent: parentOfBiggest },
      { name: "base rootfs", image: DEFAULT_BASE_IMAGE, parent: null },
    ];
    for (const layer of layers) {
      const baseline = Math.min(await baselineExtract(layer.image), await baselineExtract(layer.image));
      for (const method of ["upperdir", "save"] as const) {
        let best = Infinity;
        let mb = 0;
        for (let i = 0; i < 2; i++) {
          const [artefact, seconds] = await timed(() =>
            extractArtefact(docker, { imageId: layer.image, parentImageId: layer.parent, filter: {}, store, method, gzipLevel: 6 }),
          );
          best = Math.min(best, seconds);
          mb = artefact.uncompressedSize / 1e6;
        }
        console.log(
          `(c) extract ${layer.name} (${fmt(mb)} MB of tar) via ${method}: ${fmt(mb / best)} MB/s, docker save|tar|gzip -6 ${fmt(mb / baseline)} MB/s, ` +
            `ratio ${fmt(baseline / best)} (target >= 0.8)`,
        );
      }
    }
  } finally {
    for (const reference of cleanup) await removeImage(docker, reference).catch(() => {});
    // The bench's cache images are this run's only (nonce keys): drop them, newest first.
    for (const p of built.reverse()) await removeImage(docker, `strata-cache:${p.cacheKey}`).catch(() => {});
    await sweepLeftovers(docker, { buildId }).catch(() => {});
    await registry.stop();
    await engine.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
