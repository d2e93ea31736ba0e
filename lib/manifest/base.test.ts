import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { InvalidBaseManifestError, bundledBaseManifestDir, latestBundledBaseManifest, loadBundledBaseManifests } from "./base";
import { cacheKey, usesBuildEnv } from "./hash";
import { checkOrder, transitiveRequires } from "./order";
import { packageId, type PackageDefinition } from "./schema";

const manifest = await latestBundledBaseManifest();
const byId = (id: string): PackageDefinition => manifest.packages.find((p) => packageId(p) === id)!;
const allSteps = manifest.packages.flatMap((p) => p.steps.map((step) => ({ id: packageId(p), step })));

describe("strata-base-2.yaml (the latest bundled base manifest)", () => {
  test("has the header the builder expects", () => {
    expect(manifest).toMatchObject({ name: "strata-base", version: "2", base_image: "strata/debian:bookworm" });
  });

  test("holds the foundation stack in build order; the version stamp is the builder's own last layer", () => {
    expect(manifest.packages.map(packageId)).toEqual([
      "system/base",
      "system/systemd",
      "system/kernel",
      "system/dracut",
      "system/grub",
      "system/networking",
      "system/openssh",
    ]);
    expect(checkOrder(manifest.packages)).toEqual([]);
  });

  test("requires say what each package needs", () => {
    expect(transitiveRequires(manifest.packages, "system/dracut")).toEqual(["system/base", "system/systemd", "system/kernel"]);
    expect(byId("system/grub").requires).toEqual(["system/kernel", "system/dracut"]);
    expect(byId("system/openssh").requires).toContain("system/systemd");
  });

  test("every apt-get install or upgrade is non-interactive and says -y", () => {
    const installs = allSteps.filter(({ step }) => /apt-get (install|upgrade)/.test(step));
    expect(installs.length).toBeGreaterThanOrEqual(7);
    for (const { id, step } of installs) {
      expect(step, id).toMatch(/DEBIAN_FRONTEND=noninteractive apt-get (install|upgrade) -y/);
    }
  });

  test("every package that installs also refreshes and then drops the apt lists", () => {
    for (const pkg of manifest.packages.filter((p) => p.steps.some((s) => s.includes("apt-get install")))) {
      const update = pkg.steps.indexOf("apt-get update");
      const install = pkg.steps.findIndex((s) => s.includes("apt-get install"));
      expect(update, packageId(pkg)).toBeGreaterThanOrEqual(0);
      expect(update).toBeLessThan(install);
      expect(pkg.steps.at(-1), packageId(pkg)).toBe("rm -rf /var/lib/apt/lists/*");
    }
  });

  test("installs the real packages of the stack", () => {
    const installed = allSteps.flatMap(({ step }) => /apt-get install .*--no-install-recommends (.*)$/m.exec(step)?.[1].split(" ") ?? []);
    for (const name of ["ca-certificates", "systemd", "systemd-sysv", "dbus", "linux-image-amd64", "dracut", "dracut-core", "grub-efi-amd64-bin", "grub-pc-bin", "grub2-common", "iproute2", "systemd-resolved", "openssh-server"]) {
      expect(installed).toContain(name);
    }
  });

  test("only Debian's archive is used", () => {
    const text = JSON.stringify(manifest.packages);
    const hosts = new Set([...text.matchAll(/https?:\/\/([^/"\s]+)/g)].map((m) => m[1]));
    expect([...hosts]).toEqual(["deb.debian.org"]);
  });

  test("the dracut configuration asks for a generic initrd with the immutable-root module", () => {
    const dracut = byId("system/dracut");
    const conf = dracut.files.find((f) => f.path.startsWith("/etc/dracut.conf.d/"))!.content;
    expect(conf).toContain('hostonly="no"');
    expect(conf).toContain('add_dracutmodules+=" strata-immutable "');
    const hook = dracut.files.find((f) => f.path.endsWith("/strata-state.sh"))!;
    expect(hook.mode).toBe("0755");
    expect(hook.content).toMatch(/mount -t overlay/);
    expect(dracut.steps.some((s) => s.includes("dracut --force --kver"))).toBe(true);
  });

  test("shell in steps and scripts parses", () => {
    const scripts = [
      ...allSteps.map(({ id, step }) => ({ id, shell: "sh", text: step })),
      ...manifest.packages.flatMap((p) => p.files.filter((f) => f.content.startsWith("#!")).map((f) => ({ id: f.path, shell: f.content.startsWith("#!/bin/bash") ? "bash" : "sh", text: f.content }))),
    ];
    for (const { id, shell, text } of scripts) {
      const result = spawnSync(shell, ["-n", "-c", text], { encoding: "utf8" });
      expect(result.stderr, id).toBe("");
      expect(result.status, id).toBe(0);
    }
  });

  test("no package depends on the build's flavour or version, so every base package is shared in the cache", () => {
    expect(manifest.packages.filter(usesBuildEnv).map(packageId)).toEqual([]);
    const env = (flavour: string, version: string) => ({ STRATA_FLAVOUR: flavour, STRATA_VERSION: version, STRATA_BASE_VERSION: "2" });
    for (const pkg of manifest.packages) expect(cacheKey("p", pkg, env("a", "r1.1"))).toBe(cacheKey("p", pkg, env("b", "r7.3")));
  });

  test("version 1 stays loadable and unchanged for flavours forked from it", async () => {
    const all = await loadBundledBaseManifests();
    const v1 = all.find((m) => m.name === "strata-base" && m.version === "1")!;
    expect(v1.packages.map(packageId).at(-1)).toBe("system/os-release");
    expect(all.map((m) => m.version)).toEqual(["1", "2"]);
  });
});

describe("loadBundledBaseManifests", () => {
  test("finds the folder beside the module", () => {
    expect(bundledBaseManifestDir()).toMatch(/lib\/manifest\/base\/?$/);
  });

  test("a broken YAML file is a clear error naming file and line", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-base-"));
    await writeFile(path.join(dir, "broken.yaml"), 'name: strata-base\nversion: "9"\nbase_image: x\npackages:\n  - category: system\n    name: Bad_Name\n    version: "1"\n');
    const error = await loadBundledBaseManifests(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBaseManifestError);
    expect((error as Error).message).toMatch(/broken\.yaml is invalid:\n  line 6: packages\[0\]\.name: name may only contain/);
  });

  test("a requires cycle in a base manifest is refused", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-base-"));
    const pkgs = "  - { category: s, name: a, version: '1', requires: [s/b] }\n  - { category: s, name: b, version: '1', requires: [s/a] }\n";
    await writeFile(path.join(dir, "cycle.yaml"), `name: strata-base\nversion: "9"\nbase_image: x\npackages:\n${pkgs}`);
    await expect(loadBundledBaseManifests(dir)).rejects.toThrow(/cycle\.yaml is invalid:\n  line 5: .*cycle: s\/a → s\/b → s\/a/);
  });

  test("an empty folder is an error", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-base-"));
    await expect(loadBundledBaseManifests(dir)).rejects.toThrow(/no base manifest/);
  });
});
