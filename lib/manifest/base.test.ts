import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
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

describe("strata-base-3.yaml (the latest bundled base manifest)", () => {
  test("has the header the builder expects", () => {
    expect(manifest).toMatchObject({ name: "strata-base", version: "3", base_image: "strata/debian:bookworm" });
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
      "system/boot",
    ]);
    expect(checkOrder(manifest.packages)).toEqual([]);
  });

  test("requires say what each package needs", () => {
    expect(transitiveRequires(manifest.packages, "system/dracut")).toEqual(["system/base", "system/systemd", "system/kernel"]);
    expect(byId("system/grub").requires).toEqual(["system/kernel", "system/dracut"]);
    expect(byId("system/openssh").requires).toContain("system/systemd");
    expect(byId("system/boot").requires).toEqual(["system/systemd", "system/grub"]);
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
    const env = (flavour: string, version: string) => ({ STRATA_FLAVOUR: flavour, STRATA_VERSION: version, STRATA_BASE_VERSION: "3" });
    for (const pkg of manifest.packages) expect(cacheKey("p", pkg, env("a", "r1.1"))).toBe(cacheKey("p", pkg, env("b", "r7.3")));
  });

  test("versions 1 and 2 stay loadable and unchanged for flavours forked from them", async () => {
    const all = await loadBundledBaseManifests();
    const v1 = all.find((m) => m.name === "strata-base" && m.version === "1")!;
    expect(v1.packages.map(packageId).at(-1)).toBe("system/os-release");
    const v2 = all.find((m) => m.name === "strata-base" && m.version === "2")!;
    expect(v2.packages.map(packageId).at(-1)).toBe("system/openssh");
    // 3 is 2 plus system/boot.
    expect(manifest.packages.slice(0, -1)).toEqual(v2.packages);
    expect(all.map((m) => m.version)).toEqual(["1", "2", "3"]);
  });
});

/**
 * Runs a script of system/boot with stand-ins for the machine: the kernel command line, the ESP (and its helper),
 * grub-editenv (keeping grubenv as k=v lines), systemctl (multi-user.target active or not; reboot recorded) and sleep.
 */
function runBootScript(file: string, machine: { cmdline: string; grubenv: Record<string, string> | null; multiUser?: "active" | "inactive" }) {
  const dir = mkdtempSync(path.join(tmpdir(), "strata-boot-"));
  const bin = path.join(dir, "bin");
  const esp = path.join(dir, "esp");
  const grubenv = path.join(esp, "grub", "grubenv");
  const log = path.join(dir, "calls");
  mkdirSync(bin);
  mkdirSync(path.dirname(grubenv), { recursive: true });
  writeFileSync(log, "");
  writeFileSync(path.join(dir, "cmdline"), `${machine.cmdline}\n`);
  if (machine.grubenv) writeFileSync(grubenv, Object.entries(machine.grubenv).map(([k, v]) => `${k}=${v}\n`).join(""));
  const tools: Record<string, string> = {
    esp: machine.grubenv ? `echo ${esp}` : 'echo "strata-esp: there is no /dev/disk/by-partlabel/strata-esp" >&2; exit 3',
    "grub-editenv": [
      'file=$1 cmd=$2; shift 2; echo "grub-editenv $cmd $*" >> "$CALLS"',
      "case $cmd in",
      '  list) cat "$file" ;;',
      '  set) for kv in "$@"; do grep -v "^${kv%%=*}=" "$file" > "$file.new"; echo "$kv" >> "$file.new"; mv "$file.new" "$file"; done ;;',
      '  unset) for k in "$@"; do grep -v "^$k=" "$file" > "$file.new"; mv "$file.new" "$file"; done ;;',
      "esac",
    ].join("\n"),
    systemctl: ['echo "systemctl $*" >> "$CALLS"', "case $1 in", '  is-active) [ "$MULTI_USER" = active ] ;;', '  list-jobs) echo "42 strata-broken.service start running" ;;', "esac"].join("\n"),
    sync: "exit 0",
    // The watchdog waits for the ESP's link, which this machine does not have: no time passes here.
    sleep: "exit 0",
    reboot: 'echo "reboot $*" >> "$CALLS"',
  };
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  const script = byId("system/boot").files.find((f) => f.path === file)!.content.replaceAll("/proc/cmdline", path.join(dir, "cmdline")).replaceAll("/usr/lib/strata/esp", path.join(bin, "esp"));
  const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CALLS: log, MULTI_USER: machine.multiUser ?? "inactive" } });
  const env = machine.grubenv ? Object.fromEntries(readFileSync(grubenv, "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])) : null;
  const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, grubenv: env, calls };
}

describe("system/boot (A/B boot counting)", () => {
  const boot = byId("system/boot");
  const file = (p: string) => boot.files.find((f) => f.path === p)!;
  const trial = { strata_active: "b", strata_previous: "a", strata_tries: "1" };

  test("ships the helpers and both units, enabled", () => {
    expect(boot.files.map((f) => [f.path, f.mode])).toEqual([
      ["/usr/lib/strata/esp", "0755"],
      ["/usr/lib/strata/boot-good", "0755"],
      ["/usr/lib/strata/boot-watchdog", "0755"],
      ["/usr/lib/systemd/system/strata-boot-good.service", "0644"],
      ["/usr/lib/systemd/system/strata-boot-watchdog.service", "0644"],
    ]);
    expect(boot.steps).toEqual(["systemctl enable strata-boot-good.service strata-boot-watchdog.service"]);
    expect(boot.excludes).toEqual(byId("system/openssh").excludes);
    const good = file("/usr/lib/systemd/system/strata-boot-good.service").content;
    for (const line of ["Type=oneshot", "Requires=multi-user.target", "After=multi-user.target", "WantedBy=multi-user.target", "ExecStart=/usr/lib/strata/boot-good"]) expect(good).toContain(`${line}\n`);
    const watchdog = file("/usr/lib/systemd/system/strata-boot-watchdog.service").content;
    for (const line of ["Type=simple", "DefaultDependencies=no", "WantedBy=sysinit.target", "Conflicts=shutdown.target", "ExecStart=/usr/lib/strata/boot-watchdog"]) expect(watchdog).toContain(`${line}\n`);
  });

  test("the ESP helper says why and exits 3 where there is no Strata disk", () => {
    const result = spawnSync("sh", ["-c", file("/usr/lib/strata/esp").content], { encoding: "utf8" });
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/no \/dev\/disk\/by-partlabel\/strata-esp: this system did not boot from a Strata disk/);
  });

  test("boot-good marks a trial boot of the active slot good, and nothing else", () => {
    const good = runBootScript("/usr/lib/strata/boot-good", { cmdline: "ro strata.slot=b quiet", grubenv: trial });
    expect(good).toMatchObject({ status: 0, grubenv: { strata_active: "b", strata_previous: "a" } });
    expect(good.stdout).toMatch(/slot b reached multi-user\.target: marked good/);
    expect(good.calls).toEqual(["grub-editenv list ", "grub-editenv unset strata_tries"]);

    // grub fell back: the slot that booted is not on trial.
    const fellBack = { strata_active: "a", strata_previous: "b", strata_failed: "b", strata_tries: "" };
    expect(runBootScript("/usr/lib/strata/boot-good", { cmdline: "strata.slot=a", grubenv: fellBack })).toMatchObject({ status: 0, grubenv: fellBack });
    // Someone chose the other slot in grub's menu during a trial: that is no verdict on the new slot.
    expect(runBootScript("/usr/lib/strata/boot-good", { cmdline: "strata.slot=a", grubenv: trial })).toMatchObject({ status: 0, grubenv: trial });
    // Not a Strata disk (a container): nothing to do, and no failed unit.
    expect(runBootScript("/usr/lib/strata/boot-good", { cmdline: "strata.slot=a", grubenv: null })).toMatchObject({ status: 0, calls: [] });
    expect(runBootScript("/usr/lib/strata/boot-good", { cmdline: "root=/dev/sda1", grubenv: null })).toMatchObject({ status: 0, calls: [] });
  });

  test("the watchdog reboots a trial boot that has not reached multi-user.target in time, saying why", () => {
    const hung = runBootScript("/usr/lib/strata/boot-watchdog", { cmdline: "strata.slot=b strata.boot_timeout=0", grubenv: trial });
    expect(hung.status).toBe(0);
    expect(hung.stdout).toMatch(/slot b did not reach multi-user\.target within 0 s; rebooting: grub tries it again or falls back to slot a/);
    expect(hung.stdout).toContain("Strata: still waiting: 42 strata-broken.service start running");
    expect(hung.calls).toContain("systemctl reboot --force");

    const reached = runBootScript("/usr/lib/strata/boot-watchdog", { cmdline: "strata.slot=b strata.boot_timeout=0", grubenv: trial, multiUser: "active" });
    expect(reached.calls).not.toContain("systemctl reboot --force");
    // Only a trial boot is watched: a committed slot, or the fallback, is left alone however slow.
    const notOnTrial: Array<Record<string, string>> = [{ strata_active: "b", strata_previous: "a" }, { strata_active: "a", strata_previous: "b", strata_tries: "" }];
    for (const grubenv of notOnTrial) {
      const committed = runBootScript("/usr/lib/strata/boot-watchdog", { cmdline: `strata.slot=${grubenv.strata_active} strata.boot_timeout=0`, grubenv });
      expect(committed).toMatchObject({ status: 0, calls: ["grub-editenv list "] });
    }
    expect(runBootScript("/usr/lib/strata/boot-watchdog", { cmdline: "strata.boot_timeout=0", grubenv: trial }).calls).toEqual([]);
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
