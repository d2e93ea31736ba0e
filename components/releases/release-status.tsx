// A release request's status as a badge: pending (waiting for an admin), approved, rejected.
import { Badge } from "../ui/controls";

const TONE = { pending: "amber", approved: "emerald", rejected: "red" } as const;

export function ReleaseStatusBadge({ status }: { status: "pending" | "approved" | "rejected" }) {
  return <Badge tone={TONE[status]}>{status}</Badge>;
}
