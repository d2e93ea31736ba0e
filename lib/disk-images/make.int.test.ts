// The disk image job against the real engine, registry and database: a build of the bundled base manifest becomes an
// A/B disk whose partition table, file systems and registry artifact are checked here; booting it is the boot test's
// (lib/disk-images/boot.boot.test.ts). A build without a kernel fails with a message that says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { desc, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { testBuildDeps } from "../testing/build-deps";
import { baseManifests, diskImageLogs, diskImages } from "../db/schema";
import { ensureBundledBaseManifests, publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { getBuild, startBuild } from "../builds/builds";
import { ensureDockerEngine, type DockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { RegistryClient } from "../registry/client";
import { runBuild } from "../builder/run-build";
import type { Actor } from "../auth/actor";
import { requestDiskImage } from "./disk-images";
import { runDiskImage, DISK_ARTIFACT_TYPE } from "./make";
import { diskImageStorePath } from "./store";
import { openFromRegistry } from "./registry-copy";
import { partition, type DiskLayout } from "./layout";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
let engine: DockerEngine;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
/** The build of the first test, made again through the engine's API below. */
let buildId: string;
const stamp = Date.now().toString(36);

beforeAll(async () => {
  engine = await ensureDockerEngine({ dataDir });
  docker = engine.docker;
  registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir }) : await ensureRegistry({ dataDir, port: 5055 });
  process.env.REGISTRY_URL = registry.url;
  customer = await makeActor(db, { role: "customer" });
}, 600_000);

afterAll(async () => {
  await closeTestDb();
  await registry?.stop();
  await engine?.stop();
});

const workerDeps = () => ({
  db,
  docker,
  registry: new RegistryClient(registry.url),
  publicRegistry: registry.url,
  dataDir,
  workerId: "test-worker",
});

async function buildFlavour(baseManifestId: string, layers: unknown[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId, name: `disk-${stamp}-${Math.random().toString(36).slice(2, 6)}` });
  if (layers.length) await saveRevision(db, customer, flavour.id, { layers });
  const build = await startBuild(db, customer, flavour.id, {});
  await runBuild(testBuildDeps({ db, docker, registryUrl: registry.url, dataDir }, { limits: { memoryBytes: 2 * 1024 ** 3, nanoCpus: 2e9, pidsLimit: 1024, stepTimeoutMs: 600_000 } }), build.id);
  const done = await getBuild(db, customer, build.id);
  expect(done.status, done.error ?? "").toBe("succeeded");
  return done;
}

/** GPT partition entries of an image file: name, first and last LBA. */
function readGpt(file: string) {
  const fd = fs.openSync(file, "r");
  try {
    const header = Buffer.alloc(512);
    fs.readSync(fd, header, 0, 512, 512);
    expect(header.subarray(0, 8).toString("latin1")).toBe("EFI PART");
    const entriesLba = Number(header.readBigUInt64LE(72));
    const count = header.readUInt32LE(80);
    const size = header.readUInt32LE(84);
    const entries = Buffer.alloc(count * size);
    fs.readSync(fd, entries, 0, entries.length, entriesLba * 512);
    const parts = [];
    for (let i = 0; i < count; i++) {
      const e = entries.subarray(i * size, (i + 1) * size);
      if (e.subarray(0, 16).every((b) => b === 0)) continue;
      parts.push({ first: Number(e.readBigUInt64LE(32)), last: Number(e.readBigUInt64LE(40)), name: e.subarray(56, 128).toString("utf16le").replace(/\0+$/, "") });
    }
    const mbr = Buffer.alloc(512);
    fs.readSync(fd, mbr, 0, 512, 0);
    return { parts, mbr };
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

describe("disk image job", () => {
  it(
    "makes the A/B disk of a build of the base manifest: GPT as laid out, ext4 slot A, FAT ESP, grub in the MBR, an OCI artifact",
    async () => {
      await ensureBundledBaseManifests(db);
      const [base] = await db.select().from(baseManifests).where(eq(baseManifests.name, "strata-base")).orderBy(desc(baseManifests.createdAt)).limit(1);
      const build = await buildFlavour(base.id, [
        { category: "layer", name: "motd", version: "1", files: [{ path: "/etc/motd", mode: "0644", content: `disk test ${stamp}\n` }] },
      ]);
      const { diskImage } = await requestDiskImage(db, customer, build.id, { formats: ["raw", "qcow2"] });
      await runDiskImage(workerDeps(), diskImage.id);
      const [done] = await db.select().from(diskImages).where(eq(diskImages.id, diskImage.id));
      const logs = await db.select().from(diskImageLogs).where(eq(diskImageLogs.diskImageId, diskImage.id));
      expect(done.status, `${done.error}\n${logs.map((l) => l.line).join("\n")}`).toBe("succeeded");
      expect(done.progress).toBe(100);
      expect(done.phaseDetail).toBeNull();
      expect(done.error).toBeNull();
      expect(done.files.map((f) => f.format)).toEqual(["raw", "qcow2"]);

      const raw = done.files.find((f) => f.format === "raw")!;
      const rawFile = diskImageStorePath(dataDir, raw.digest);
      expect(fs.statSync(rawFile).size).toBe(done.sizeBytes);
      // Sparse: the empty slot B and the free space take no room on the node.
      expect(fs.statSync(rawFile).blocks * 512).toBeLessThan(done.sizeBytes);

      const layout = done.layout as DiskLayout;
      const { parts, mbr } = readGpt(rawFile);
      expect(parts.map((p) => p.name)).toEqual(["strata-esp", "bios", "strata-a", "strata-b", "strata-state"]);
      for (const [i, p] of parts.entries()) {
        expect(p.first * 512).toBe(layout.partitions[i].offset);
        expect((p.last + 1) * 512).toBe(layout.partitions[i].offset + layout.partitions[i].size);
      }
      // grub's boot.img in the MBR code area (it says "GRUB"), the protective MBR's signature kept.
      expect(mbr.subarray(0, 440).toString("latin1")).toContain("GRUB");
      expect(mbr.readUInt16LE(510)).toBe(0xaa55);
      // ext4 superblocks (magic 0xEF53 at 1024+56) with their labels, and a FAT boot sector on the ESP.
      for (const name of ["strata-a", "strata-state"] as const) {
        const sb = readAt(rawFile, partition(layout, name).offset + 1024, 1024);
        expect(sb.readUInt16LE(56)).toBe(0xef53);
        expect(sb.subarray(120, 136).toString("latin1").replace(/\0+$/, "")).toBe(name);
      }
      const esp = readAt(rawFile, partition(layout, "strata-esp").offset, 512);
      expect(esp.subarray(82, 90).toString("latin1")).toBe("FAT32   ");
      expect(readAt(rawFile, partition(layout, "strata-b").offset, 4096).every((b) => b === 0)).toBe(true);

      // The registry holds both files in an artifact that names the build.
      const client = new RegistryClient(registry.url);
      const ref = done.artifactRef!;
      const repo = ref.slice(registry.url.length + 1).split("@")[0];
      const manifest = JSON.parse((await client.getManifest(repo, ref.split("@")[1])).bytes.toString("utf8"));
      expect(manifest.artifactType).toBe(DISK_ARTIFACT_TYPE);
      // Each file zstd-compressed, naming what it decompresses to.
      expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(done.files.map((f) => f.blob!.digest));
      expect(manifest.layers.map((l: { annotations: Record<string, string> }) => l.annotations["dev.strata.uncompressed.digest"])).toEqual(done.files.map((f) => f.digest));
      expect(manifest.annotations["dev.strata.build"]).toBe(build.id);
      expect(await client.headBlob(repo, raw.blob!.digest)).toEqual({ size: raw.blob!.size });
      expect(raw.blob!.size).toBeLessThan(raw.size / 2);
      // A node without the file serves it from that copy: the same bytes.
      const hash = createHash("sha256");
      for await (const chunk of await openFromRegistry(client, repo, raw)) hash.update(chunk as Buffer);
      expect(`sha256:${hash.digest("hex")}`).toBe(raw.digest);
      buildId = build.id;
      const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["strata.disk-image"] }) });
      expect(containers).toEqual([]);
    },
    1_800_000,
  );

  it("makes the same disk through the engine's API when the maker cannot read in place (a remote engine): same bytes' layout, holes kept", async () => {
    const { diskImage } = await requestDiskImage(db, customer, buildId, { formats: ["raw"] });
    await runDiskImage({ ...workerDeps(), readInPlace: false }, diskImage.id);
    const [done] = await db.select().from(diskImages).where(eq(diskImages.id, diskImage.id));
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.artifactRef).toMatch(/@sha256:/);
    const rawFile = diskImageStorePath(dataDir, done.files[0].digest);
    expect(fs.statSync(rawFile).size).toBe(done.sizeBytes);
    expect(fs.statSync(rawFile).blocks * 512).toBeLessThan(done.sizeBytes / 2);
    const { parts } = readGpt(rawFile);
    expect(parts.map((p) => p.name)).toEqual(["strata-esp", "bios", "strata-a", "strata-b", "strata-state"]);
  }, 600_000);

  it("fails with a readable reason for a build without a kernel, and leaves no container behind", async () => {
    const base = await publishBaseManifest(db, await makeActor(db, { role: "admin" }), {
      yaml: `name: tiny-disk-${stamp}\nversion: "1"\nbase_image: strata/debian:bookworm\npackages:\n  - category: system\n    name: hello\n    version: "1"\n    steps:\n      - echo hello > /etc/strata-hello\n`,
    });
    const build = await buildFlavour(base.id, []);
    const { diskImage } = await requestDiskImage(db, customer, build.id, {});
    await runDiskImage(workerDeps(), diskImage.id);
    const [done] = await db.select().from(diskImages).where(eq(diskImages.id, diskImage.id));
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/this image has no kernel/);
    expect(done.files).toEqual([]);
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["strata.disk-image"] }) });
    expect(containers).toEqual([]);
  }, 600_000);
});
