// The baselines: what a person would do with the stock tools on the same engine and registry.
// - build: a hand-written Dockerfile of the same packages, `docker build` (classic builder) + `docker push`;
// - extraction: `docker save <image> | tar -xO <layer> | zstd -1 -T0 > file`.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import type { PackageDefinition } from "@/lib/manifest/schema";

/** Runs a command, feeding `input` on stdin; resolves with stdout and stderr together, rejects with their tail. */
export function run(cmd: string, args: string[], opts: { input?: Buffer; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${output.trimEnd().split("\n").slice(-25).join("\n")}`)),
    );
    child.stdin.end(opts.input);
  });
}

/**
 * The Dockerfile of `packages` on `baseRef`: for each package, its overlay files (COPY from the context) and then
 * one RUN of its steps joined with &&, with DEBIAN_FRONTEND set as the builder sets it. The RUN is in exec form
 * (`["/bin/sh","-ec",…]`), the same command as the shell form, because only JSON can carry the newlines of
 * multi-line steps (Docker 20.10's classic builder has no heredocs).
 */
export function dockerfileOf(baseRef: string, packages: PackageDefinition[]): string {
  const lines = [`FROM ${baseRef}`, "ARG DEBIAN_FRONTEND=noninteractive"];
  packages.forEach((p, i) => {
    if (p.files.length > 0) lines.push(`COPY files/${i}/ /`);
    if (p.steps.length > 0) lines.push(`RUN ${JSON.stringify(["/bin/sh", "-ec", p.steps.map((s) => s.trim()).join(" && ")])}`);
  });
  return lines.join("\n") + "\n";
}

/** The build context: the Dockerfile and every package's overlay files under files/<index>/, with their modes. */
export async function dockerContextOf(baseRef: string, packages: PackageDefinition[]): Promise<Buffer> {
  const pack = tar.pack();
  // A fixed time: the same context twice is the same context (and the classic builder's COPY cache ignores it anyway).
  const mtime = new Date(0);
  pack.entry({ name: "Dockerfile", mtime }, dockerfileOf(baseRef, packages));
  const dirs = new Set<string>();
  packages.forEach((p, i) => {
    for (const file of p.files) {
      const name = `files/${i}${file.path}`;
      const parts = name.split("/");
      for (let depth = 1; depth < parts.length; depth++) {
        const dir = parts.slice(0, depth).join("/") + "/";
        if (!dirs.has(dir)) pack.entry({ name: dir, type: "directory", mode: 0o755, mtime });
        dirs.add(dir);
      }
      pack.entry({ name, mode: parseInt(file.mode, 8), mtime }, file.content);
    }
  });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Instructions (after FROM) that ran rather than came from the build cache, read from the classic builder's output. */
export function stepsRun(buildOutput: string): number {
  return buildOutput
    .split(/^Step \d+\/\d+ : /m)
    .slice(1)
    .filter((step) => !/^FROM /i.test(step) && !step.includes("---> Using cache")).length;
}

/** `docker build` (classic builder, `--no-cache` when asked) of `context` as `ref`, then `docker push ref`. */
export async function dockerBuildAndPush(context: Buffer, ref: string, opts: { noCache: boolean }): Promise<{ seconds: number; stepsRun: number }> {
  const started = performance.now();
  const output = await run("docker", ["build", ...(opts.noCache ? ["--no-cache"] : []), "-t", ref, "-"], { input: context, env: { DOCKER_BUILDKIT: "0" } });
  await run("docker", ["push", ref]);
  return { seconds: (performance.now() - started) / 1000, stepsRun: stepsRun(output) };
}

/**
 * Where the last layer of `imageId` is in its `docker save` stream, and its size: Docker 20.10 writes each layer as
 * `<v1 id>/layer.tar`, and manifest.json lists them in the order of the image's diffIDs. Reads the whole stream.
 */
export async function lastSavedLayer(docker: Dockerode, imageId: string): Promise<{ path: string; bytes: number }> {
  const sizes = new Map<string, number>();
  let manifest: { Layers: string[] }[] = [];
  const extract = tar.extract();
  ((await docker.getImage(imageId).get()) as unknown as Readable).pipe(extract);
  for await (const entry of extract) {
    sizes.set(entry.header.name, entry.header.size ?? 0);
    if (entry.header.name !== "manifest.json") {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Layers: string[] }[];
  }
  const layers = manifest[0]?.Layers ?? [];
  const path = layers[layers.length - 1];
  if (!path || !sizes.has(path)) throw new Error(`docker save of ${imageId} has no manifest.json naming its layers`);
  return { path, bytes: sizes.get(path)! };
}

/** The stock pipeline on one layer: seconds of `docker save | tar -xO <layer> | zstd -1 -T0 > out`. */
export async function saveTarZstd(imageId: string, layerPath: string, out: string): Promise<number> {
  const started = performance.now();
  await run("bash", ["-o", "pipefail", "-c", 'docker save "$1" | tar -xO "$2" | zstd -q -1 -T0 > "$3"', "bench", imageId, layerPath, out]);
  return (performance.now() - started) / 1000;
}
