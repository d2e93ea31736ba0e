"use client";

// "Disk images" on a succeeded build's page: ask for a bootable A/B disk image (size, raw and/or qcow2), then follow
// each one the build has until it can be downloaded. Opened while the build still runs, the panel waits for it to
// succeed and then reloads the page's data, which brings the sizes the form offers.
import { useEffect, useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { formatBytes, type BuildStatus } from "../builds/format";
import { Alert } from "../ui/alert";
import { api, ApiError } from "../ui/api";
import { Button } from "../ui/button";
import { Card } from "../ui/card";
import { Field } from "../ui/field";
import { FormProblem } from "../ui/form-problem";
import { issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import { useMutation } from "../ui/use-mutation";
import { DiskImageItem } from "./disk-image-item";
import { DISK_FORMAT_CHOICES, type DiskFormat, type DiskImageView, type DiskSizes } from "./types";

const BUILD_POLL_MS = 3000;

const FORMAT_HINT: Record<DiskFormat, string> = {
  raw: "a byte-for-byte disk (.img), to write onto a USB stick or disk",
  qcow2: "for QEMU, libvirt and Proxmox; only the written blocks take space",
};

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The form's field errors from a refused request: the server's own sentence beside the size field when it is about
 * the size alone (it names the smallest or largest size that works), else each issue's message.
 */
function fieldErrors(error: unknown) {
  const issues = issuesOf(error);
  const sizeIssues = issues.filter((i) => i.path === "size");
  const formatIssues = issues.filter((i) => i.path === "formats" || i.path.startsWith("formats["));
  let size: string | undefined;
  if (sizeIssues.length > 0) {
    size = issues.length === 1 && error instanceof ApiError ? sentence(error.message.replace(/^size: /, "")) : sentence(sizeIssues[0].message);
  }
  const formats = formatIssues.length > 0 ? sentence(formatIssues.map((i) => i.message).join("; ")) : undefined;
  return { size, formats, marked: [...sizeIssues, ...formatIssues].map((i) => i.path) };
}

/** A format's checkbox, named by the format alone; what it is for is its description. */
function FormatCheckbox({ format, checked, onChange }: { format: DiskFormat; checked: boolean; onChange: (on: boolean) => void }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2 text-sm">
      <input
        id={id}
        type="checkbox"
        name="formats"
        value={format}
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        aria-describedby={`${id}-hint`}
        className="mt-0.5 h-4 w-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
      />
      <p>
        <label htmlFor={id} className="font-medium text-slate-800">
          {format}
        </label>
        <span id={`${id}-hint`} className="text-slate-500">
          {" "}
          — {FORMAT_HINT[format]}
        </span>
      </p>
    </div>
  );
}

function RequestForm({ buildId, sizes, onMade }: { buildId: string; sizes: DiskSizes; onMade: (image: DiskImageView) => void }) {
  const { run, pending, error } = useMutation();
  const [formats, setFormats] = useState<DiskFormat[]>(["raw", "qcow2"]);
  const hydrated = useHydrated();
  const errors = fieldErrors(error);
  const formatsErrorId = `${useId()}-formats-error`;

  async function request(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const size = String(new FormData(event.currentTarget).get("size") ?? "").trim();
    const image = await run("request", () =>
      api<DiskImageView>(`/api/v1/builds/${buildId}/disk-images`, { body: { ...(size ? { size } : {}), formats: DISK_FORMAT_CHOICES.filter((f) => formats.includes(f)) } }),
    );
    if (image) onMade(image);
  }

  const toggle = (format: DiskFormat, on: boolean) => setFormats((current) => (on ? [...current.filter((f) => f !== format), format] : current.filter((f) => f !== format)));

  return (
    <form onSubmit={request} aria-label="Make a disk image" className="space-y-3" noValidate>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          label="Disk size"
          name="size"
          placeholder={`${formatBytes(sizes.default)} (the default)`}
          autoComplete="off"
          hint={`Leave empty for the default: room for the slots to grow and 1 GiB of state. A number with a unit (8G, 6144M) or bytes; at least ${formatBytes(sizes.minimum)}, at most ${formatBytes(sizes.maximum)}.`}
          error={errors.size}
        />
        <fieldset aria-describedby={errors.formats ? formatsErrorId : undefined}>
          <legend className="block text-sm font-medium text-slate-700">Formats</legend>
          <div className="mt-1 space-y-1.5">
            {DISK_FORMAT_CHOICES.map((format) => (
              <FormatCheckbox key={format} format={format} checked={formats.includes(format)} onChange={(on) => toggle(format, on)} />
            ))}
          </div>
          {errors.formats && (
            <p id={formatsErrorId} className="mt-1 text-xs text-red-700">
              {errors.formats}
            </p>
          )}
        </fieldset>
      </div>
      <FormProblem error={error} fields={errors.marked} title="The disk image was not asked for." />
      <Button type="submit" disabled={pending !== null || !hydrated}>
        {pending ? "Asking…" : "Make disk image"}
      </Button>
    </form>
  );
}

export function DiskImagesPanel({
  buildId,
  buildStatus,
  initial,
  sizes,
  fileNames,
}: {
  buildId: string;
  buildStatus: BuildStatus;
  initial: DiskImageView[];
  /** Null until the build has succeeded. */
  sizes: DiskSizes | null;
  fileNames: Record<DiskFormat, string>;
}) {
  const router = useRouter();
  const [images, setImages] = useState(initial);
  const [again, setAgain] = useState<string | null>(null);
  const waiting = buildStatus === "queued" || buildStatus === "running";

  useEffect(() => {
    if (!waiting) return;
    let stopped = false;
    const timer = setInterval(() => {
      api<{ status: BuildStatus }>(`/api/v1/builds/${buildId}`).then(
        (build) => {
          // Succeeded: the server renders the panel again with the sizes its root filesystem allows.
          if (!stopped && build.status === "succeeded") router.refresh();
        },
        () => {}, // A missed poll is retried at the next tick.
      );
    }, BUILD_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [buildId, waiting, router]);

  if (buildStatus !== "succeeded" || !sizes) return null;

  function made(image: DiskImageView) {
    // The same size and formats asked for again: the API answers with the one the build has already.
    const known = images.some((d) => d.id === image.id);
    setAgain(known ? image.id : null);
    if (!known) setImages((current) => [image, ...current]);
  }

  return (
    <div className="mt-6">
      <Card title="Disk images">
        <div className="space-y-5">
          <p className="text-sm text-slate-600">
            A bootable disk of this build for PCs and virtual machines (UEFI and BIOS): the image in slot A, an empty slot B for upgrades from a channel, and a
            partition for the machine&apos;s own state. A worker makes it; you can leave this page and come back.
          </p>
          <RequestForm buildId={buildId} sizes={sizes} onMade={made} />
          {again && <Alert tone="info">A disk image of this size and these formats was asked for already; it is in the list below.</Alert>}
          {images.length === 0 ? (
            <p className="text-sm text-slate-500">No disk image of this build yet. Choose a size and formats above and press Make disk image.</p>
          ) : (
            <ul aria-label="Disk images of this build" className="divide-y divide-slate-100 border-t border-slate-100 pt-4">
              {images.map((image) => (
                <DiskImageItem key={image.id} initial={image} fileNames={fileNames} />
              ))}
            </ul>
          )}
        </div>
      </Card>
    </div>
  );
}
