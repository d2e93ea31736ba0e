import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { isAdmin } from "@/lib/auth/roles";
import { listAudit } from "@/lib/audit/audit";
import { listDevices } from "@/lib/devices/devices";
import { listRegistrationTokens } from "@/lib/devices/registration-tokens";
import { Alert } from "@/components/ui/alert";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { Copyable } from "@/components/ui/copyable";
import { Stat } from "@/components/ui/stat";
import { formatBytes } from "@/components/builds/format";
import { AuditTable } from "@/components/audit/audit-table";
import { ChannelAdminControls } from "@/components/channels/admin-controls";
import { DeviceCharts } from "@/components/channels/device-charts";
import { RegistrationTokenForm } from "@/components/channels/registration-token-form";
import { RegistrationTokenTable } from "@/components/channels/registration-tokens";
import { ChannelSettingsForm } from "@/components/channels/settings-form";
import { ChannelStateBadge } from "@/components/channels/state-badge";
import { DeviceTable } from "@/components/devices/device-table";
import { formatWhen } from "@/components/devices/format";
import { ReleaseHistory } from "@/components/releases/release-history";
import { loadChannel } from "./load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { channel, flavour } = await loadChannel(actor, id);
  return { title: `${flavour.name} / ${channel.name}` };
}

type Loaded = Awaited<ReturnType<typeof loadChannel>>;

function ReleaseSummary({ release, label }: { release: NonNullable<Loaded["release"]>; label: string }) {
  return (
    <div className="space-y-3">
      <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-4">
        <Stat label="Version" className="font-mono font-medium">
          {release.version}
        </Stat>
        <Stat label="Build">
          <Link href={`/builds/${release.build.id}`} className="font-mono text-xs text-brand-600 hover:underline" aria-label={`Build ${release.build.version}`}>
            {release.build.version}
          </Link>
        </Stat>
        <Stat label="Image size" className="tabular-nums">
          {formatBytes(release.imageSize)}
        </Stat>
        <Stat label="Approved">{release.decidedAt ? formatWhen(release.decidedAt) : "—"}</Stat>
      </dl>
      <dl>
        <Copyable label={label} value={release.imageRef} />
      </dl>
      {release.notes && <p className="text-sm whitespace-pre-line text-slate-700">{release.notes}</p>}
    </div>
  );
}

export default async function ChannelPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ before?: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { before } = await searchParams;
  const loaded = await loadChannel(actor, id);
  const { channel, flavour, release, previous, history, failures } = loaded;
  const db = getDb();
  const [devices, tokens, audit] = await Promise.all([
    listDevices(db, actor, { channelId: channel.id, limit: 100 }).then((p) => p.devices),
    listRegistrationTokens(db, actor, channel.id),
    // `before` holds the cursor of the older page; one that is not valid (an old link) shows the newest entries.
    listAudit(db, actor, { channelId: channel.id, cursor: before, limit: 50 }).catch(() => listAudit(db, actor, { channelId: channel.id, limit: 50 })),
  ]);
  const admin = isAdmin(actor);
  const now = Date.now();
  const failedShare = failures && failures.reported > 0 ? Math.round((failures.failed * 100) / failures.reported) : null;
  const rollbackTargets = history.filter((r) => r.status === "approved" && r.id !== channel.releaseId).map((r) => ({ id: r.id, version: r.version }));
  const pending = history.filter((r) => r.status === "pending").length;
  return (
    <>
      <Breadcrumb
        items={[
          { label: "Flavours", href: "/flavours" },
          { label: flavour.name, href: `/flavours/${flavour.id}` },
          { label: "Channels", href: `/flavours/${flavour.id}/channels` },
          { label: channel.name },
        ]}
      />
      <PageHeader
        title={`Channel ${channel.name}`}
        description={channel.description || `A channel of ${flavour.name}.`}
        actions={
          <div className="flex items-center gap-2 text-sm">
            <ChannelStateBadge pausedAt={channel.pausedAt} haltedAt={channel.haltedAt} />
            {pending > 0 && <span className="text-amber-800">{pending === 1 ? "1 release waits" : `${pending} releases wait`} for approval</span>}
          </div>
        }
      />
      <div className="mb-6 space-y-3">
        {channel.haltedAt && (
          <Alert tone="error">
            <p className="font-medium">The rollout halted by itself on {formatWhen(channel.haltedAt)}.</p>
            <p>{channel.haltReason}</p>
            {!admin && <p className="mt-1">An admin resumes it (or rolls back) once the cause is understood.</p>}
          </Alert>
        )}
        {channel.pausedAt && (
          <div role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
            <p className="font-medium">Paused since {formatWhen(channel.pausedAt)}: devices stay on what they run until an admin resumes the channel.</p>
            {channel.pauseReason && <p>Reason: {channel.pauseReason}</p>}
          </div>
        )}
      </div>
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          <Card title="Current release">
            {release ? (
              <ReleaseSummary release={release} label="Image reference" />
            ) : (
              <p className="text-sm text-slate-600">
                No release yet. Open a succeeded build of {flavour.name} (
                <Link href={`/flavours/${flavour.id}/builds`} className="text-brand-600 hover:underline">
                  builds
                </Link>
                ) and request a release on this channel; it reaches devices once an admin approves it.
              </p>
            )}
          </Card>
          {previous && (
            <Card title="Previous release">
              <p className="mb-3 text-xs text-slate-500">What devices outside the rollout keep running.</p>
              <ReleaseSummary release={previous} label="Previous image reference" />
            </Card>
          )}
        </div>
        <Card title="Rollout">
          <dl className="space-y-3 text-sm">
            <Stat label="Devices getting the current release" className="text-lg font-semibold tabular-nums">
              {release ? `${channel.rolloutPercent} %` : "—"}
            </Stat>
            <Stat label="Failed upgrades to the current release">
              {failures ? (
                <span data-testid="failure-share">
                  {failures.failed} of {failures.reported} reporting {failures.reported === 1 ? "device" : "devices"}
                  {failedShare !== null && ` (${failedShare} %)`}
                </span>
              ) : (
                "—"
              )}
              <p className="text-xs text-slate-500">
                Halts above {channel.failureThresholdPercent} % with at least {channel.failureMinReports} {channel.failureMinReports === 1 ? "report" : "reports"}.
              </p>
            </Stat>
          </dl>
          {admin && (
            <div className="mt-4 border-t border-slate-100 pt-4">
              <h3 className="mb-3 text-xs font-semibold tracking-wide text-slate-500 uppercase">Admin</h3>
              <ChannelAdminControls
                channelId={channel.id}
                paused={channel.pausedAt !== null}
                halted={channel.haltedAt !== null}
                release={release?.version ?? null}
                rolloutPercent={channel.rolloutPercent}
                rollbackTargets={rollbackTargets}
              />
            </div>
          )}
        </Card>
      </div>
      <div className="mt-6 space-y-6">
        <Card title="Release history">
          {history.length === 0 ? (
            <p className="text-sm text-slate-600">No release was asked for on this channel yet. Request one from a succeeded build&apos;s page.</p>
          ) : (
            <ReleaseHistory history={history} currentId={channel.releaseId} previousId={channel.previousReleaseId} />
          )}
        </Card>
        <Card
          title="Devices"
          actions={
            <Link href="/devices" className="text-sm text-brand-600 hover:underline">
              Manage devices
            </Link>
          }
        >
          {devices.length === 0 ? (
            <p className="py-4 text-center text-sm text-slate-600">No devices on this channel yet. Create a registration token below and run the agent on a device with it.</p>
          ) : (
            <div className="space-y-6">
              <DeviceCharts byVersion={loaded.devices.byVersion} byResult={loaded.devices.byResult} total={loaded.devices.total} />
              <DeviceTable devices={devices} now={now} caption={`Devices on ${channel.name}`} />
            </div>
          )}
        </Card>
        <Card title="Registration tokens">
          <p className="mb-3 text-sm text-slate-600">A device joins this channel with a registration token. Each token is shown once; limit it by time or uses, and revoke it when the devices are in.</p>
          <RegistrationTokenForm channelId={channel.id} />
          <div className="mt-4">
            <RegistrationTokenTable tokens={tokens} now={now} />
          </div>
        </Card>
        <Card title="Settings">
          <ChannelSettingsForm channelId={channel.id} description={channel.description} failureThresholdPercent={channel.failureThresholdPercent} failureMinReports={channel.failureMinReports} />
        </Card>
        <Card title="Audit log">
          {audit.entries.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing happened on this channel yet.</p>
          ) : (
            <AuditTable entries={audit.entries} now={now} caption={`Audit log of ${channel.name}, newest first`} />
          )}
          {(audit.next !== null || before) && (
            <nav aria-label="Audit log pages" className="mt-3 flex gap-4 text-sm">
              {before && (
                <Link href={`/channels/${channel.id}`} className="text-brand-600 hover:underline">
                  Newest
                </Link>
              )}
              {audit.next !== null && (
                <Link href={`/channels/${channel.id}?before=${audit.next}`} className="text-brand-600 hover:underline">
                  Older
                </Link>
              )}
            </nav>
          )}
        </Card>
      </div>
    </>
  );
}
