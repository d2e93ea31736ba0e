import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listOrgChannels } from "@/lib/channels/channels";
import { listDevices } from "@/lib/devices/devices";
import { Card, PageHeader } from "@/components/ui/card";
import { DeviceTable } from "@/components/devices/device-table";
import { Alert } from "@/components/ui/alert";
import { oneParam, Pager } from "@/components/ui/pager";
import { loadPage } from "@/lib/api/cursor";

/** Devices per page: the inventory pages rather than rendering every device at once. */
const PAGE_SIZE = 100;

export const metadata = { title: "Devices" };

export default async function DevicesPage({ searchParams }: { searchParams: Promise<Record<"revoked" | "cursor", string | string[] | undefined>> }) {
  const actor = await requirePageActor();
  const query = await searchParams;
  const revoked = oneParam(query.revoked) === "1";
  const cursor = oneParam(query.cursor);
  const db = getDb();
  const [{ page, problem }, channels] = await Promise.all([
    loadPage((c) => listDevices(db, actor, { ...(revoked ? { includeRevoked: "1" } : {}), cursor: c, limit: PAGE_SIZE }), cursor),
    listOrgChannels(db, actor),
  ]);
  const { devices, next } = page;
  const choices = channels.map((c) => ({ id: c.id, orgId: c.orgId, label: `${c.flavour.name} / ${c.name}` }));
  return (
    <>
      <PageHeader
        title="Devices"
        description="Every device that registered with a channel's token: what it runs, when it was last seen and how its last upgrade went. Pin a device to an image, move it to another channel, or revoke it."
        actions={
          <Link href={revoked ? "/devices" : "/devices?revoked=1"} className="rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50">
            {revoked ? "Hide revoked devices" : "Show revoked devices"}
          </Link>
        }
      />
      <Card title="Inventory">
        {problem && (
          <div className="mb-4">
            <Alert tone="error">{problem}</Alert>
          </div>
        )}
        {devices.length === 0 ? (
          <div className="py-6 text-center text-sm text-slate-600">
            <p className="font-medium text-slate-800">No devices yet.</p>
            <p className="mt-1">
              Create a registration token on a channel page and run the agent on a device. A flavour&apos;s channels are listed on{" "}
              <Link href="/flavours" className="text-brand-600 hover:underline">
                its page
              </Link>
              .
            </p>
          </div>
        ) : (
          <DeviceTable devices={devices} now={Date.now()} caption={revoked ? "Devices, revoked ones included" : "Devices"} channels={choices} />
        )}
        <Pager label="Pages of devices" path="/devices" filters={{ revoked: revoked ? "1" : undefined }} next={next} onFirstPage={!cursor || problem !== null} firstLabel="Latest registered" nextLabel="More devices" />
      </Card>
    </>
  );
}
