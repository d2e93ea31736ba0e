"use client";

// "Release this build" under the live build view. A build page is often opened while the build still runs: the
// panel then asks for the build's status every few seconds and shows the form once it has succeeded.
import Link from "next/link";
import { useEffect, useState } from "react";
import type { BuildStatus } from "../builds/format";
import { api } from "../ui/api";
import { Card } from "../ui/card";
import { ReleaseRequestForm, type ReleaseChannelChoice } from "./release-request-form";

const POLL_MS = 3000;

export function BuildReleasePanel({
  buildId,
  status: initialStatus,
  flavour,
  channels,
}: {
  buildId: string;
  status: BuildStatus;
  flavour: { id: string; name: string };
  channels: ReleaseChannelChoice[];
}) {
  const [status, setStatus] = useState(initialStatus);
  const active = status === "queued" || status === "running";

  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const timer = setInterval(() => {
      api<{ status: BuildStatus }>(`/api/v1/builds/${buildId}`).then(
        (build) => {
          if (!stopped) setStatus(build.status);
        },
        () => {}, // A missed poll is retried at the next tick.
      );
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [buildId, active]);

  if (status !== "succeeded") return null;
  return (
    <div className="mt-6">
      <Card title="Release this build">
        {channels.length === 0 ? (
          <p className="text-sm text-slate-600">
            {flavour.name} has no channel to release on.{" "}
            <Link href={`/flavours/${flavour.id}/channels`} className="text-brand-600 hover:underline">
              Create a channel
            </Link>{" "}
            first.
          </p>
        ) : (
          <>
            <p className="mb-3 text-sm text-slate-600">Ask to put this build on a channel under a version; its devices upgrade once an admin approves the request.</p>
            <ReleaseRequestForm buildId={buildId} channels={channels} />
          </>
        )}
      </Card>
    </div>
  );
}
