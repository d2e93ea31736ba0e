"use client";

// One disk image of the build: while queued or running it polls its state and log every 1.5 s (progress, what the
// job does now, the live log); once made, the downloads with size and sha256, the registry artifact and the layout.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { BuildStatusBadge } from "../builds/status";
import { formatBytes, formatWhen } from "../builds/format";
import { api } from "../ui/api";
import { Copyable } from "../ui/copyable";
import { DiskImageLog } from "./disk-image-log";
import { isActiveDiskImage, isPublishing, type DiskFormat, type DiskImageLogLine, type DiskImageView } from "./types";

const POLL_MS = 1500;

const PARTITION_ROLE: Record<string, string> = {
  "strata-esp": "EFI system: grub and its configuration",
  bios: "BIOS boot: grub for machines without UEFI",
  "strata-a": "slot A: this build, read-only",
  "strata-b": "slot B: empty until the device agent installs an upgrade",
  "strata-state": "state: the writable /etc, /var, /home and /root",
};

const FORMAT_LABEL: Record<DiskFormat, string> = { raw: "raw (.img)", qcow2: "qcow2" };

/** The image's state and log while it is made; the log of a finished one is read when it is first shown. */
function useDiskImage(initial: DiskImageView, logShown: boolean) {
  const [image, setImage] = useState(initial);
  const [lines, setLines] = useState<DiskImageLogLine[]>([]);
  const [logRead, setLogRead] = useState(false);
  const lastId = useRef(0);
  // A made image is downloadable while the registry's copies are pushed: polling goes on until its reference is known.
  const active = isActiveDiskImage(image.status) || isPublishing(image);
  const id = initial.id;

  const readLog = useCallback(async () => {
    const { lines: batch } = await api<{ lines: DiskImageLogLine[] }>(`/api/v1/disk-images/${id}/logs?after=${lastId.current}&limit=5000`);
    // Two reads in flight may return the same lines: keep each id once.
    const fresh = batch.filter((l) => l.id > lastId.current);
    if (fresh.length > 0) {
      lastId.current = fresh[fresh.length - 1].id;
      setLines((current) => current.concat(fresh));
    }
    setLogRead(true);
  }, [id]);

  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const [next] = await Promise.all([api<DiskImageView>(`/api/v1/disk-images/${id}`), readLog()]);
        if (stopped) return;
        // The job's last lines land just before its final state: read them once more.
        if (!isActiveDiskImage(next.status) && !isPublishing(next)) await readLog();
        setImage(next);
      } catch {
        // A missed poll is retried at the next tick.
      }
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id, active, readLog]);

  useEffect(() => {
    if (logShown && !active && !logRead) readLog().catch(() => {});
  }, [logShown, active, logRead, readLog]);

  return { image, lines, logRead };
}

function ProgressBar({ image }: { image: DiskImageView }) {
  const queued = image.status === "queued";
  const caption = queued ? "Waiting for a worker…" : (image.phaseDetail ?? "Starting…");
  return (
    <div className="space-y-1.5">
      <div
        role="progressbar"
        aria-label="Disk image progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={image.progress}
        aria-valuetext={`${image.progress}%, ${caption}`}
        className="relative h-2 w-full overflow-hidden rounded-full bg-slate-100"
      >
        <div className={`h-full rounded-full transition-[width] duration-500 ${queued ? "bg-slate-300" : "bg-brand-500"}`} style={{ width: `${image.progress}%` }} />
      </div>
      <div className="flex items-baseline justify-between gap-4 text-sm text-slate-600">
        <span data-testid="disk-image-phase" className="min-w-0 break-words">
          {caption}
        </span>
        <span className="shrink-0 tabular-nums">{image.progress}%</span>
      </div>
    </div>
  );
}

function Downloads({ image, fileNames }: { image: DiskImageView; fileNames: Record<DiskFormat, string> }) {
  return (
    <div className="space-y-4">
      {image.files.map((file) => {
        const name = fileNames[file.format];
        const hex = file.digest.replace(/^sha256:/, "");
        return (
          <div key={file.format} className="space-y-2">
            <p className="flex flex-wrap items-baseline gap-x-3 gap-y-1 text-sm">
              <a
                href={`/api/v1/disk-images/${image.id}/download/${file.format}`}
                download={name}
                className="font-medium text-brand-600 hover:underline"
                aria-label={`Download ${name} (${FORMAT_LABEL[file.format]}, ${formatBytes(file.size)})`}
              >
                Download {name}
              </a>
              <span className="tabular-nums text-slate-600">{formatBytes(file.size)}</span>
            </p>
            <dl>
              <Copyable label={`sha256 of ${name}`} value={hex} testId={`disk-image-sha256-${file.format}`} />
            </dl>
            <p className="text-xs text-slate-500">
              {file.format === "raw" ? (
                <>
                  Write it to a disk (every byte on it is replaced): <code className="font-mono text-slate-700">dd if={name} of=/dev/sdX bs=4M conv=fsync</code>
                </>
              ) : (
                <>
                  Boot it in a virtual machine: <code className="font-mono text-slate-700">qemu-system-x86_64 -m 2G -drive file={name},format=qcow2</code> (add{" "}
                  <code className="font-mono text-slate-700">-bios /usr/share/ovmf/OVMF.fd</code> for UEFI)
                </>
              )}
            </p>
          </div>
        );
      })}
      {image.artifactRef && (
        <dl>
          <Copyable label="Registry artifact" value={image.artifactRef} testId="disk-image-artifact" />
        </dl>
      )}
      {isPublishing(image) && (
        <p data-testid="disk-image-publishing" className="text-sm text-slate-600">
          Pushing the compressed copies to the registry… (downloads from this server work already)
        </p>
      )}
      {image.error && (
        <p data-testid="disk-image-publish-error" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          Only on this server: {image.error}. Downloads from here work; ask for the disk image again to have it in the registry.
        </p>
      )}
      <p className="text-xs text-slate-500">Check a download with <code className="font-mono text-slate-700">sha256sum</code>; the same files are in the registry artifact, which any OCI client can copy.</p>
    </div>
  );
}

function LayoutTable({ image }: { image: DiskImageView }) {
  return (
    <div className="-mx-1 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Partitions of the disk image</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th scope="col" className="px-1 py-1.5 text-right">
              #
            </th>
            <th scope="col" className="px-2 py-1.5">
              Partition
            </th>
            <th scope="col" className="px-2 py-1.5 text-right">
              Size
            </th>
            <th scope="col" className="px-2 py-1.5">
              Holds
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {image.layout.partitions.map((p) => (
            <tr key={p.number}>
              <td className="px-1 py-1.5 text-right text-xs tabular-nums text-slate-400">{p.number}</td>
              <td className="px-2 py-1.5 font-mono text-[13px] whitespace-nowrap">{p.name}</td>
              <td className="px-2 py-1.5 text-right text-xs whitespace-nowrap tabular-nums">{formatBytes(p.size)}</td>
              <td className="px-2 py-1.5 text-xs text-slate-600">{PARTITION_ROLE[p.name] ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DiskImageItem({ initial, fileNames }: { initial: DiskImageView; fileNames: Record<DiskFormat, string> }) {
  // The log is open while the image is made, closed for one that is done (its result says more).
  const [logShown, setLogShown] = useState(isActiveDiskImage(initial.status));
  const { image, lines, logRead } = useDiskImage(initial, logShown);
  const active = isActiveDiskImage(image.status);
  const logId = useId();
  const title = `${formatBytes(image.sizeBytes)} · ${image.formats.join(" + ")}`;

  return (
    <li aria-label={`Disk image ${title}`} data-testid="disk-image" className="space-y-3 py-4 first:pt-0 last:pb-0">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="flex flex-wrap items-center gap-3">
          <h3 className="text-sm font-semibold text-slate-800 tabular-nums">{title}</h3>
          <BuildStatusBadge status={image.status} testId="disk-image-status" />
        </div>
        <span className="text-xs text-slate-500">
          asked for{" "}
          <time dateTime={image.createdAt} suppressHydrationWarning>
            {formatWhen(image.createdAt)}
          </time>
        </span>
      </div>

      {active && <ProgressBar image={image} />}

      {image.status === "failed" && (
        <div className="rounded-md border border-red-200 bg-red-50 px-3 py-2">
          <p className="text-sm font-medium text-red-800">The disk image could not be made</p>
          <pre data-testid="disk-image-error" className="mt-1 max-h-48 overflow-auto font-mono text-xs leading-5 whitespace-pre-wrap break-words text-red-900">
            {image.error ?? "No reason was recorded."}
          </pre>
          <p className="mt-2 text-xs text-red-800">The log below shows what it did up to then. Fix the cause and ask for the disk image again.</p>
        </div>
      )}

      {image.status === "succeeded" && (
        <div className="grid gap-6 lg:grid-cols-[3fr_2fr]">
          <Downloads image={image} fileNames={fileNames} />
          <LayoutTable image={image} />
        </div>
      )}

      <div className="space-y-2">
        <button
          type="button"
          onClick={() => setLogShown((shown) => !shown)}
          aria-expanded={logShown}
          aria-controls={logShown ? logId : undefined}
          className="rounded text-sm font-medium text-brand-600 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500"
        >
          {logShown ? "Hide the log" : "Show the log"}
          {lines.length > 0 && <span className="ml-1 font-normal text-slate-500 tabular-nums">({lines.length} {lines.length === 1 ? "line" : "lines"})</span>}
        </button>
        {logShown && (
          <DiskImageLog
            id={logId}
            lines={lines}
            waiting={image.status === "queued" ? "Waiting for a worker to pick this disk image up…" : active ? "Starting…" : logRead ? "The job wrote no output." : "Loading the log…"}
          />
        )}
      </div>
    </li>
  );
}
