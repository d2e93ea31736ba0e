"use client";

// The live build page: state, progress, packages and log from the build's event stream, with Cancel and Retry.
// The stream replays the whole log from the first line, so a reload shows everything so far and then follows on.
import { Copyable } from "../ui/copyable";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Card } from "../ui/card";
import { ProblemAlert } from "../ui/problem";
import { BuildLog } from "./build-log";
import { PackageTable } from "./package-table";
import { ImportSummary } from "./import-summary";
import { BuildProgressBar, BuildQueueNotice, BuildStatusBadge } from "./status";
import { VersionMeaning, VersionName } from "./version-name";
import { buildDuration, digestReference, formatBytes, formatDuration, formatWhen, isActive, scratchSummary, type BuildView as Build, type LogLine } from "./format";
import { buildProgress, describePhase, describeTimeLeft } from "@/lib/builds/progress";

type Connection = "connecting" | "live" | "reconnecting" | "done";

/** Date.now() to the second (so that two reads in one render agree, as useSyncExternalStore needs). */
const currentSecond = () => Math.floor(Date.now() / 1000) * 1000;

/** The time, ticking every second while `on`; null on the server and while hydrating, so both render the same. */
function useNow(on: boolean): number | null {
  const subscribe = useCallback(
    (tick: () => void) => {
      if (!on) return () => {};
      const timer = setInterval(tick, 1000);
      return () => clearInterval(timer);
    },
    [on],
  );
  return useSyncExternalStore(subscribe, currentSecond, () => null);
}

function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className="text-slate-400">—</span>;
  return (
    <time dateTime={iso} suppressHydrationWarning>
      {formatWhen(iso)}
    </time>
  );
}

/** The build's event stream: `build` snapshots, `log` line batches (deduplicated by id), `end`. */
function useBuildEvents(initial: Build) {
  const [build, setBuild] = useState(initial);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [streamError, setStreamError] = useState<string | null>(null);
  const lastId = useRef(0);

  const append = useCallback((batch: LogLine[]) => {
    const fresh = batch.filter((l) => l.id > lastId.current);
    if (fresh.length === 0) return;
    lastId.current = fresh[fresh.length - 1].id;
    setLines((current) => current.concat(fresh));
  }, []);

  useEffect(() => {
    const source = new EventSource(`/api/v1/builds/${initial.id}/events`);
    let trailing: ReturnType<typeof setTimeout> | undefined;
    source.addEventListener("open", () => {
      setConnection("live");
      setStreamError(null);
    });
    source.addEventListener("build", (event) => setBuild(JSON.parse((event as MessageEvent<string>).data) as Build));
    source.addEventListener("log", (event) => append(JSON.parse((event as MessageEvent<string>).data) as LogLine[]));
    source.addEventListener("end", () => {
      source.close();
      setConnection("done");
      // The worker's last lines can land just after the final state; pick them up once more.
      trailing = setTimeout(() => {
        api<{ lines: LogLine[] }>(`/api/v1/builds/${initial.id}/logs?after=${lastId.current}&limit=5000`).then(
          ({ lines: late }) => append(late),
          () => {},
        );
      }, 1500);
    });
    source.addEventListener("error", (event) => {
      // Named `error` events carry the server's message; a plain Event is a dropped connection, which EventSource retries.
      const data = (event as MessageEvent<string>).data;
      if (data) {
        try {
          setStreamError((JSON.parse(data) as { message?: string }).message ?? null);
        } catch {
          setStreamError(null);
        }
      } else if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (EventSource hides the answer): ask once more to read why, e.g. the 429 of
        // too many live logs open. A stream that opens this time is closed at once; the slot is freed.
        fetch(`/api/v1/builds/${initial.id}/events`, { headers: { accept: "text/event-stream" } }).then(
          async (res) => {
            if (res.ok) return res.body?.cancel();
            const payload = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
            setStreamError(payload?.error?.message ?? `the server answered ${res.status}.`);
          },
          () => {},
        );
      }
      setConnection(source.readyState === EventSource.CLOSED ? "done" : "reconnecting");
    });
    return () => {
      source.close();
      clearTimeout(trailing);
    };
  }, [initial.id, append]);

  return { build, setBuild, lines, connection, streamError };
}

function LiveIndicator({ connection, active }: { connection: Connection; active: boolean }) {
  if (!active) return null;
  const text = connection === "live" ? "Live" : connection === "reconnecting" ? "Reconnecting…" : connection === "connecting" ? "Connecting…" : "";
  if (!text) return null;
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-500">
      <span aria-hidden className={`h-1.5 w-1.5 rounded-full ${connection === "live" ? "animate-pulse bg-emerald-500" : "bg-amber-400"}`} />
      {text}
    </span>
  );
}

export function BuildView({ initial, flavourName }: { initial: Build; flavourName: string }) {
  const router = useRouter();
  const { build, setBuild, lines, connection, streamError } = useBuildEvents(initial);
  const [actionError, setActionError] = useState<unknown>(null);
  const [pending, setPending] = useState<"cancel" | "retry" | null>(null);
  const active = isActive(build.status);
  const now = useNow(active);
  const elapsed = buildDuration(build, now ?? undefined);
  const running = build.packages.find((p) => p.status === "running");
  const cancelling = active && build.cancelRequestedAt !== null;
  // Recomputed every second from the last snapshot: the time spent in the running package counts without an event.
  const progress = buildProgress(build, now);
  const phaseLine = build.status === "running" ? describePhase(build.phase, build.phaseDetail) : null;
  // Before the page has a clock the estimate would not count the running package's time yet; say nothing rather than jump.
  const timeLeft = now === null ? null : describeTimeLeft(progress);

  async function cancel() {
    setPending("cancel");
    setActionError(null);
    try {
      const row = await api<Omit<Build, "packages" | "startedByUser">>(`/api/v1/builds/${build.id}/cancel`, { method: "POST" });
      setBuild((current) => ({ ...current, ...row, packages: current.packages, startedByUser: current.startedByUser }));
    } catch (err) {
      setActionError(err);
    } finally {
      setPending(null);
    }
  }

  async function retry() {
    setPending("retry");
    setActionError(null);
    try {
      const next = await api<{ id: string }>(`/api/v1/builds/${build.id}/retry`, { method: "POST" });
      router.push(`/builds/${next.id}`);
    } catch (err) {
      setActionError(err);
      setPending(null);
    }
  }

  const waiting =
    build.status === "queued"
      ? "Waiting for a worker to pick this build up…"
      : build.status === "running"
        ? "Starting…"
        : connection === "done"
          ? "This build wrote no output."
          : "Loading the log…";

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-2xl font-semibold tracking-tight" aria-describedby="build-version-meaning">
              Build <VersionName version={build.version} />
            </h1>
            <span role="status" aria-label="Build status" aria-live="polite">
              <BuildStatusBadge status={build.status} size="lg" testId="build-status" />
            </span>
            <LiveIndicator connection={connection} active={active} />
          </div>
          <p className="mt-1 text-sm text-slate-600">
            {flavourName}
            {" · "}
            <span className="font-mono">{build.version}</span>
            {" is "}
            <VersionMeaning id="build-version-meaning" version={build.version} revisionNumber={build.revisionNumber} className="font-medium text-slate-800" />
            {build.fromScratch && (
              <>
                {" · "}
                <span data-testid="build-from-scratch" className="rounded bg-amber-50 px-1.5 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-200" title="Every package built again without the cache; the results replaced the cached ones">
                  {build.scheduled ? "scheduled build from scratch" : "built from scratch"}
                </span>
              </>
            )}
            {build.startedByUser && (
              <>
                {" · started by "}
                <span className="font-medium text-slate-800" title={build.startedByUser.email}>
                  {build.startedByUser.name || build.startedByUser.email}
                </span>
              </>
            )}
            {build.scheduled && " · started by the flavour's from-scratch schedule"}
            {" on "}
            <When iso={build.createdAt} />
          </p>
        </div>
        <div className="flex gap-2">
          {active && (
            <Button type="button" variant="danger" onClick={cancel} disabled={pending !== null || cancelling}>
              {cancelling ? "Cancelling…" : pending === "cancel" ? "Cancelling…" : "Cancel build"}
            </Button>
          )}
          {(build.status === "failed" || build.status === "cancelled") && (
            <Button type="button" onClick={retry} disabled={pending !== null}>
              {pending === "retry" ? "Starting retry…" : "Retry build"}
            </Button>
          )}
        </div>
      </div>

      {actionError != null && <ProblemAlert error={actionError} />}
      {streamError && (
        <div role="alert" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          The live updates stopped: {streamError} They resume on their own; reload the page if they do not.
        </div>
      )}

      {build.status === "failed" && (
        <section aria-labelledby="build-error-title" className="rounded-lg border border-red-200 bg-red-50 px-5 py-4">
          <h2 id="build-error-title" className="text-sm font-semibold text-red-800">
            The build failed
          </h2>
          <pre data-testid="build-error" className="mt-2 max-h-96 overflow-auto font-mono text-xs leading-5 whitespace-pre-wrap break-words text-red-900">
            {build.error ?? "No reason was recorded."}
          </pre>
          <p className="mt-3 text-sm text-red-800">Fix the failing step in the flavour&apos;s layers and build again, or press Retry if the cause was temporary.</p>
        </section>
      )}
      {build.status === "cancelled" && (
        <p className="rounded-lg border border-amber-200 bg-amber-50 px-5 py-3 text-sm text-amber-900">
          {build.error ?? "Cancelled."} Press Retry to build this revision again; finished packages come from the cache.
        </p>
      )}

      {build.status === "succeeded" && build.imageRef && build.imageDigest && (
        <Card title="Image">
          <dl className="space-y-3">
            <Copyable label="Image reference" value={build.imageRef} testId="image-ref" />
            <Copyable label="Digest reference" value={digestReference(build.imageRef, build.imageDigest)} testId="image-digest-ref" />
            <div>
              <dt className="text-xs font-medium text-slate-500">Image size (compressed layers)</dt>
              <dd className="mt-1 text-sm tabular-nums" data-testid="image-size">
                {formatBytes(build.imageSize)}
              </dd>
            </div>
            {typeof build.repositoryRevision === "number" && (
              <div>
                <dt className="text-xs font-medium text-slate-500">Package repository</dt>
                <dd className="mt-1 text-sm">
                  <Link href={`/flavours/${build.flavourId}/repository/${build.repositoryRevision}`} className="font-medium text-brand-600 hover:underline">
                    Repository revision {build.repositoryRevision}
                  </Link>
                  <span className="text-slate-600">: every package&apos;s artefact and files, searchable.</span>
                </dd>
              </div>
            )}
          </dl>
          <p className="mt-3 text-xs text-slate-500">
            Pull it with <code className="font-mono">docker pull</code> or <code className="font-mono">skopeo</code> from any machine that can reach the registry; the digest
            reference never changes. The tag is the build&apos;s version, also written as VERSION in <code className="font-mono">/etc/os-release</code>.
          </p>
        </Card>
      )}

      {build.kind === "import" && <ImportSummary buildId={build.id} />}

      <Card title="Progress">
        <div className="space-y-3">
          <BuildProgressBar status={build.status} phase={build.phase} phaseLine={phaseLine} progress={progress} timeLeft={timeLeft} />
          <BuildQueueNotice build={build} now={now} />
          <dl className="grid grid-cols-2 gap-x-6 gap-y-2 text-sm sm:grid-cols-4">
            <div>
              <dt className="text-xs text-slate-500">{active ? "Now" : "Result"}</dt>
              <dd>
                {build.status === "queued" && (build.retry?.at ? "waiting to retry" : "waiting for a worker")}
                {build.status === "running" &&
                  (build.phase === "publishing" ? (
                    "publishing the image"
                  ) : build.phase === "preparing" ? (
                    "preparing"
                  ) : running ? (
                    <>
                      <span className="font-mono">{running.packageId}</span>
                      {running.step !== null && running.steps !== null && (
                        <span className="text-slate-600">
                          {" "}
                          · step {running.step}/{running.steps}
                        </span>
                      )}
                    </>
                  ) : (
                    (build.currentPackage ?? "preparing")
                  ))}
                {build.status === "succeeded" && "pushed to the registry"}
                {build.status === "failed" && "failed"}
                {build.status === "cancelled" && "cancelled"}
              </dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Started</dt>
              <dd>{build.startedAt ? <When iso={build.startedAt} /> : <span className="text-slate-400">not yet</span>}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Finished</dt>
              <dd>{build.finishedAt ? <When iso={build.finishedAt} /> : <span className="text-slate-400">—</span>}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Duration</dt>
              <dd className="tabular-nums" data-testid="build-duration">
                {formatDuration(elapsed)}
              </dd>
            </div>
          </dl>
          {build.retryOf && (
            <p className="text-xs text-slate-500">
              A retry of{" "}
              <Link href={`/builds/${build.retryOf}`} className="text-brand-600 hover:underline">
                an earlier build
              </Link>
              .
            </p>
          )}
        </div>
      </Card>

      <Card title="Packages">
        {build.fromScratch && (
          <p className="mb-3 text-sm text-slate-600" data-testid="scratch-summary">
            {scratchSummary(build.packages)}
          </p>
        )}
        <PackageTable buildId={build.id} packages={build.packages} now={now} fromScratch={build.fromScratch} />
      </Card>

      <Card title="Log">
        {(build.logDroppedLines ?? 0) > 0 && (
          <p role="note" data-testid="log-dropped" className="mb-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
            {build.logDroppedLines!.toLocaleString("en")} lines of output were dropped: the steps printed faster than the log keeps lines (a limit a
            second, STRATA_BUILD_LOG_LINES_PER_S). Print less (e.g. <code className="font-mono">apt-get -q</code>) or redirect chatty output to a file.
          </p>
        )}
        <BuildLog lines={lines} waiting={waiting} />
        {(build.logLines ?? 0) > 0 && (
          <p className="mt-2 text-xs text-slate-500" data-testid="log-size">
            Step output kept: {build.logLines!.toLocaleString("en")} lines, {formatBytes(build.logBytes ?? 0)}.
          </p>
        )}
      </Card>
    </div>
  );
}
