// Disk mode end to end against the in-memory portal and registry and a fake Strata disk (fakes.ts): install into the
// other partition, boot on trial, and what the agent reports after grub kept the new slot or fell back.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCycle, type AgentOptions } from "./agent";
import { bootedSlot, detectDiskMode, osReleaseLabel, readSlotImage, slotBootConfig, slotConfigText } from "./disk";
import { FakeDiskSystem, FakePortal, FakeRegistry, makeLayer, type LayerEntry } from "./fakes";
import type { AgentState } from "./state";

let dir: string;
let root: string;
let portal: FakePortal;
let registry: FakeRegistry;
let disk: FakeDiskSystem;
let logs: string[];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-disk-"));
  root = path.join(dir, "root");
  portal = new FakePortal();
  registry = new FakeRegistry();
  await Promise.all([portal.start(), registry.start()]);
  disk = new FakeDiskSystem(path.join(dir, "disk"));
  logs = [];
});
afterEach(async () => {
  await Promise.all([portal.stop(), registry.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const options = (bootTries = 2, reboot = true): AgentOptions => ({
  root,
  server: portal.url,
  token: portal.token,
  name: "kiosk-1",
  registryCredentials: null,
  log: (line) => logs.push(line),
  chown: false,
  disk: { system: disk, bootTries, reboot },
});

/** A root file system grub can boot: two kernels (the newer is taken), their initrds, and kernel arguments. */
const bootable = (check: string, extra: LayerEntry[] = []) =>
  makeLayer([
    { name: "boot/" },
    { name: "boot/vmlinuz-6.1.0-9-amd64", content: "older kernel" },
    { name: "boot/initrd.img-6.1.0-9-amd64", content: "older initrd" },
    { name: "boot/vmlinuz-6.1.0-10-amd64", content: "kernel" },
    { name: "boot/initrd.img-6.1.0-10-amd64", content: "initrd" },
    { name: "etc/" },
    { name: "etc/default/" },
    { name: "etc/default/grub", content: 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="strata.state=LABEL=strata-state console=ttyS0,115200n8"\n' },
    { name: "etc/default/grub.d/" },
    { name: "etc/default/grub.d/strata-cmdline.cfg", content: "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX strata.boot_timeout=60 it's\"\n" },
    { name: "etc/strata-check", content: `${check}\n` },
    ...extra,
  ]);

async function release(version: string, layers: Buffer[]) {
  const digest = registry.addImage(layers);
  const target = { image: `${registry.host}/acme/web@${digest}`, digest, version, releaseId: crypto.randomUUID() };
  portal.publish(target);
  return target;
}

/** Slot A as make-disk.sh writes it, naming the image it was made from. */
function diskMadeFrom(target: { image: string; digest: string } | null) {
  const recorded = target ? `set strata_image='${target.image}'\nset strata_digest='${target.digest}'\nset strata_version='r1.1'\n` : "";
  fs.writeFileSync(
    path.join(disk.esp, "grub", "slot-a.cfg"),
    `# Slot A: what the disk image maker installed.\nset strata_linux=/boot/vmlinuz-6.1.0-10-amd64\nset strata_initrd=/boot/initrd.img-6.1.0-10-amd64\nset strata_cmdline='quiet'\n${recorded}`,
  );
}

const agentState = (): AgentState => JSON.parse(fs.readFileSync(path.join(root, "agent.json"), "utf8"));
const slotCfg = (slot: string) => fs.readFileSync(path.join(disk.esp, "grub", `slot-${slot}.cfg`), "utf8");

/** Release 1.0.0 in slot A (from the disk image maker), the agent registered and up to date, then release 2.0.0 installed. */
async function installSecondRelease(bootTries = 2) {
  const first = await release("1.0.0", [await bootable("build 1")]);
  diskMadeFrom(first);
  expect(await runCycle(options(bootTries))).toEqual({ kind: "up-to-date", digest: first.digest });
  const second = await release("2.0.0", [await bootable("build 2")]);
  disk.calls.length = 0;
  const outcome = await runCycle(options(bootTries));
  return { first, second, outcome };
}

describe("disk mode", () => {
  it("finds slot A up to date from what the disk image maker recorded, and reports the release it is", async () => {
    const first = await release("1.0.0", [await bootable("build 1")]);
    diskMadeFrom(first);

    expect(await runCycle(options())).toEqual({ kind: "up-to-date", digest: first.digest });
    expect(portal.reports).toEqual([expect.objectContaining({ result: "success", currentDigest: first.digest, version: "1.0.0", releaseId: first.releaseId, message: `running 1.0.0 (${first.digest}) in slot a` })]);
    expect(disk.calls).not.toContain("reboot");
  });

  it("installs into the other partition, writes its grub configuration, switches grub to it on trial and reboots, reporting nothing yet", async () => {
    const { second, outcome } = await installSecondRelease();

    expect(outcome).toEqual({ kind: "installed", digest: second.digest, slot: "b", rebooting: true });
    const mountPoint = disk.slotMountPoint("b");
    expect(disk.calls).toEqual([
      "mountEsp",
      "mkfs strata-b /dev/disk/by-partlabel/strata-b",
      `mount /dev/disk/by-partlabel/strata-b ${mountPoint}`,
      "sync",
      `umount ${mountPoint}`,
      "grub-editenv unset strata_failed",
      "grub-editenv set strata_active=b strata_previous=a strata_tries=2",
      "sync",
      "reboot",
    ]);
    expect(disk.grubenv).toEqual({ strata_active: "b", strata_previous: "a", strata_tries: "2" });
    expect(fs.readFileSync(path.join(disk.slotContent("b"), "etc/strata-check"), "utf8")).toBe("build 2\n");
    expect(slotCfg("b")).toBe(
      [
        "# Slot B: written by the Strata device agent when it installed this image.",
        "set strata_linux=/boot/vmlinuz-6.1.0-10-amd64",
        "set strata_initrd=/boot/initrd.img-6.1.0-10-amd64",
        // Sourced like grub-mkconfig does (grub.d appends), quotes dropped like make-disk.sh does.
        "set strata_cmdline='strata.state=LABEL=strata-state console=ttyS0,115200n8 strata.boot_timeout=60 its quiet'",
        `set strata_image='${second.image}'`,
        `set strata_digest='${second.digest}'`,
        "set strata_version='2.0.0'",
        "",
      ].join("\n"),
    );
    expect(agentState().pendingBoot).toEqual({ slot: "b", digest: second.digest, image: second.image, version: "2.0.0", releaseId: second.releaseId, since: expect.any(String) });
    expect(portal.reports).toHaveLength(1); // the up-to-date report of 1.0.0 only
  });

  it("reports success once the new slot booted and strata-boot-good marked it good, and keeps it", async () => {
    const { second } = await installSecondRelease();
    disk.boot();
    disk.markGood();

    expect(await runCycle(options())).toEqual({ kind: "unchanged" });
    expect(portal.reports.at(-1)).toMatchObject({ result: "success", currentDigest: second.digest, version: "2.0.0", releaseId: second.releaseId, message: "booted 2.0.0 from slot b" });
    expect(agentState().pendingBoot).toBeNull();
    expect(JSON.parse(fs.readFileSync(path.join(root, "slots", "b.json"), "utf8"))).toMatchObject({ digest: second.digest, version: "2.0.0" });

    // Up to date from now on: nothing installed, nothing reported again.
    const reports = portal.reports.length;
    expect(await runCycle(options())).toEqual({ kind: "unchanged" });
    expect(portal.reports).toHaveLength(reports);
    expect(disk.reboots).toBe(1);
  });

  it("waits while the new slot is on trial and not yet marked good: no document fetched, nothing reported or installed", async () => {
    await installSecondRelease();
    disk.boot();
    const requests = portal.channelRequests.length;
    const reports = portal.reports.length;

    expect(await runCycle(options())).toEqual({ kind: "unconfirmed", slot: "b" });
    expect(portal.channelRequests).toHaveLength(requests);
    expect(portal.reports).toHaveLength(reports);
    expect(logs.at(-1)).toMatch(/slot b runs 2\.0\.0 on trial \(strata_tries=1\): waiting for strata-boot-good\.service/);
  });

  it("reports grub's fallback as a failure and does not install that image again, but does install the next release", async () => {
    const { first, second } = await installSecondRelease(1);
    disk.boot(); // the one try: it never reaches multi-user.target, the watchdog reboots
    disk.boot(); // no tries left: grub falls back to slot A
    expect(disk.grubenv).toMatchObject({ strata_active: "a", strata_previous: "b", strata_failed: "b" });
    disk.calls.length = 0;

    expect(await runCycle(options(1))).toEqual({ kind: "not-retrying", digest: second.digest });
    expect(portal.reports.at(-1)).toMatchObject({
      result: "failure",
      currentDigest: first.digest,
      version: "2.0.0",
      releaseId: second.releaseId,
      message: `2.0.0 did not reach multi-user.target in slot b; fell back to slot a (r1.1 (${first.digest}))`,
    });
    expect(agentState()).toMatchObject({ pendingBoot: null, failedDigests: [second.digest] });
    expect(logs.at(-1)).toBe(`not retrying 2.0.0 (${second.digest}): it did not reach multi-user.target before`);

    // The channel still names 2.0.0: nothing is installed, nothing more reported.
    const reports = portal.reports.length;
    expect(await runCycle(options(1))).toEqual({ kind: "not-retrying", digest: second.digest });
    expect(portal.reports).toHaveLength(reports);
    expect(disk.calls.filter((c) => c.startsWith("mkfs"))).toEqual([]);

    // A fixed release is another image: installed as usual, and the stale strata_failed goes.
    const third = await release("2.0.1", [await bootable("build 3")]);
    expect(await runCycle(options(1))).toEqual({ kind: "installed", digest: third.digest, slot: "b", rebooting: true });
    expect(disk.grubenv).toEqual({ strata_active: "b", strata_previous: "a", strata_tries: "1" });
  });

  it("sends a fallback report it could not send on a later cycle", async () => {
    await installSecondRelease(1);
    disk.boot();
    disk.boot();
    portal.statusAnswer = 503;
    await runCycle(options(1));
    expect(agentState().pendingBoot).not.toBeNull();

    portal.statusAnswer = 204;
    await runCycle(options(1));
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", message: expect.stringMatching(/^2\.0\.0 did not reach multi-user\.target in slot b; fell back to slot a/) });
    expect(agentState().pendingBoot).toBeNull();
  });

  it("fails an image without a kernel before touching grub, names what slot A runs from os-release, and retries it next cycle", async () => {
    diskMadeFrom(null); // a disk made before slot-a.cfg named its image
    disk.osRelease = 'PRETTY_NAME="Strata kiosk r1.1"\nVERSION_ID=r1.1\nIMAGE_VERSION=r1.1\nSTRATA_BUILD_ID=0b8e5c2a\n';
    const target = await release("1.0.0", [await makeLayer([{ name: "etc/" }, { name: "etc/motd", content: "no kernel here\n" }])]);

    await expect(runCycle(options())).rejects.toThrow(`upgrade to 1.0.0 (${target.digest}) failed: this image has no kernel (/boot/vmlinuz-*): it needs the base manifest's system/kernel package`);
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", currentDigest: null, version: "1.0.0", message: expect.stringMatching(/ \(slot a still runs r1\.1 \(build 0b8e5c2a\)\)$/) });
    expect(disk.grubenv).toEqual({ strata_active: "a" });
    expect(disk.mounted.size).toBe(0);
    expect(disk.reboots).toBe(0);
    expect(agentState().pendingBoot ?? null).toBeNull();
    // An install failure is not a boot failure: the next cycle tries again.
    await expect(runCycle(options())).rejects.toThrow(/has no kernel/);
  });

  it("leaves grub on the running slot when switching fails, and installs again next cycle", async () => {
    const first = await release("1.0.0", [await bootable("build 1")]);
    diskMadeFrom(first);
    await runCycle(options());
    await release("2.0.0", [await bootable("build 2")]);
    disk.failing = "grub-editenv set";

    await expect(runCycle(options())).rejects.toThrow(/upgrade to 2\.0\.0 .* failed: grub-editenv set .*failed on purpose/);
    expect(disk.grubenv).toEqual({ strata_active: "a" });
    expect(agentState().pendingBoot).toBeNull();
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", currentDigest: first.digest, message: expect.stringMatching(/\(slot a still runs r1\.1 \(sha256:[0-9a-f]+\)\)$/) });

    disk.failing = null;
    expect(await runCycle(options())).toMatchObject({ kind: "installed", slot: "b" });
  });

  it("installs again when the agent stopped between recording the pending boot and switching grub", async () => {
    const { second } = await installSecondRelease();
    // As if grubenv had never been written: the machine came back up in slot A.
    disk.grubenv = { strata_active: "a" };
    disk.booted = "a";

    expect(await runCycle(options(2, false))).toEqual({ kind: "installed", digest: second.digest, slot: "b", rebooting: false });
    expect(logs).toContain("the switch to slot b (2.0.0) was never made; installing it again");
    expect(logs.at(-1)).toBe("not rebooting (--no-reboot): slot b boots at the next reboot");
    expect(disk.reboots).toBe(1); // only the first install's
  });
});

describe("disk mode helpers", () => {
  it("detects a Strata disk from the kernel command line and the slot partitions", async () => {
    expect(await detectDiskMode(disk)).toBe(true);
    disk.partitions.delete("strata-a");
    expect(await detectDiskMode(disk)).toBe(false);
    expect(bootedSlot("root=/dev/sda1 ro quiet")).toBeNull();
    expect(bootedSlot("ro strata.slot=b strata.state=PARTUUID=x")).toBe("b");
    expect(bootedSlot("strata.slot=c")).toBeNull();
  });

  it("reads the kernel arguments of an image without /etc/default/grub as none", async () => {
    const rootfs = path.join(dir, "rootfs");
    fs.mkdirSync(path.join(rootfs, "boot"), { recursive: true });
    fs.writeFileSync(path.join(rootfs, "boot", "vmlinuz-6.1.0-10-amd64"), "");
    fs.writeFileSync(path.join(rootfs, "boot", "initramfs-6.1.0-10-amd64.img"), "");
    expect(await slotBootConfig(rootfs)).toEqual({ linux: "/boot/vmlinuz-6.1.0-10-amd64", initrd: "/boot/initramfs-6.1.0-10-amd64.img", cmdline: "" });
    fs.rmSync(path.join(rootfs, "boot", "initramfs-6.1.0-10-amd64.img"));
    await expect(slotBootConfig(rootfs)).rejects.toThrow("this image has kernel 6.1.0-10-amd64 but no initrd for it (/boot/initrd.img-6.1.0-10-amd64)");
  });

  it("reads back the image a slot configuration records, and no quote gets into grub's", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const text = slotConfigText("a", { linux: "/boot/vmlinuz-1", initrd: "/boot/initrd.img-1", cmdline: "quiet" }, { image: "r/x@sha256:1'; reboot", digest, version: "1.0.0\nset x=1" });
    expect(text).toContain("set strata_image='r/x@sha256:1; reboot'\n");
    expect(text).toContain("set strata_version='1.0.0setx1'\n");
    fs.writeFileSync(path.join(disk.esp, "grub", "slot-a.cfg"), text);
    expect(await readSlotImage(disk.esp, "a")).toEqual({ image: "r/x@sha256:1; reboot", digest, version: "1.0.0setx1" });
    expect(await readSlotImage(disk.esp, "b")).toBeNull();
  });

  it("names an image by its os-release stamp", () => {
    expect(osReleaseLabel('NAME="Strata"\nVERSION_ID=r2.1\nIMAGE_VERSION=r2.1\nSTRATA_BUILD_ID=1234\n')).toBe("r2.1 (build 1234)");
    expect(osReleaseLabel('NAME="Debian"\nVERSION_ID="12"\n')).toBe("12");
    expect(osReleaseLabel('NAME="Debian"\n')).toBeNull();
    expect(osReleaseLabel(null)).toBeNull();
  });
});
