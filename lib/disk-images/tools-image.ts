// The disk tools image: Debian's partitioning, file system, FAT, grub and qemu-img tools over the base image, built once
// per engine and tagged by what went into it. Disk images are made in containers of it, unprivileged and offline.
import { createHash } from "node:crypto";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../log";
import { attachOutput, commitContainer, removeContainer, startContainer, waitContainer } from "../builder/engine/containers";
import { engineCall, inspectImage } from "../builder/engine/images";
import { LineSplitter } from "../builder/line-splitter";
import { DEFAULT_BASE_IMAGE, ensureBaseImage } from "../builder/base-image";

/**
 * e2fsprogs: mke2fs -d (a file system from a folder, at an offset in the image file); fdisk: sfdisk; mtools: the FAT
 * partition without mounting it; grub-*: grub-mkimage and grub-editenv, and the modules for images without grub;
 * qemu-utils: qemu-img for qcow2; zstd: the compressed copies the registry keeps.
 */
export const TOOLS_PACKAGES = ["e2fsprogs", "fdisk", "mtools", "qemu-utils", "zstd", "grub-common", "grub-efi-amd64-bin", "grub-pc-bin"] as const;
export const TOOLS_REPOSITORY = "strata/disk-tools";

const inFlight = new Map<string, Promise<string>>();

/** Returns the tools image's id, building it the first time (about 10 s, from Debian's archive). */
export function ensureToolsImage(docker: Dockerode, opts: { workDir: string; log?: Logger; onLine?: (line: string) => void }): Promise<string> {
  const key = "default";
  const existing = inFlight.get(key);
  if (existing) return existing;
  const attempt = build(docker, opts).finally(() => inFlight.delete(key));
  inFlight.set(key, attempt);
  return attempt;
}

async function build(docker: Dockerode, opts: { workDir: string; log?: Logger; onLine?: (line: string) => void }): Promise<string> {
  const log = opts.log ?? silentLogger;
  const baseId = await ensureBaseImage(docker, DEFAULT_BASE_IMAGE, { workDir: opts.workDir, log });
  const tag = createHash("sha256").update(`${baseId}\n${TOOLS_PACKAGES.join(" ")}`).digest("hex").slice(0, 16);
  const ref = `${TOOLS_REPOSITORY}:${tag}`;
  const present = await inspectImage(docker, ref, log);
  if (present) return present.Id;

  opts.onLine?.(`making the disk tools image ${ref} (once per engine): ${TOOLS_PACKAGES.join(" ")}`);
  const script = [
    "apt-get update -qq",
    `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${TOOLS_PACKAGES.join(" ")}`,
    "apt-get clean",
    "rm -rf /var/lib/apt/lists/*",
  ].join(" && ");
  const container = await engineCall(log, "create container", `disk tools from ${baseId}`, () =>
    docker.createContainer({
      Image: baseId,
      Entrypoint: [],
      Cmd: ["/bin/sh", "-ec", script],
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: { Privileged: false, SecurityOpt: ["no-new-privileges"], NetworkMode: "bridge" },
    }),
  );
  try {
    const lines = new LineSplitter((line) => opts.onLine?.(`  ${line}`));
    const { done } = await attachOutput(docker, container, (_name, chunk) => lines.push(chunk), log);
    await startContainer(container, log);
    const code = await waitContainer(container, log);
    await done;
    lines.flush();
    if (code !== 0) throw new Error(`making the disk tools image failed (apt-get exited with ${code}); is Debian's archive reachable from containers?`);
    const [repo, tagName] = [TOOLS_REPOSITORY, tag];
    return await commitContainer(container, { repo, tag: tagName, config: { Cmd: ["/bin/sh"] }, comment: "Strata disk tools" }, log);
  } finally {
    await removeContainer(container, log).catch(() => {});
  }
}
