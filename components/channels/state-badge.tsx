// A channel's rollout state at a glance: halted (by failed upgrades) and/or paused (by an admin), or live.
import { Badge } from "../ui/controls";

export function ChannelStateBadge({ pausedAt, haltedAt }: { pausedAt: Date | null; haltedAt: Date | null }) {
  if (!pausedAt && !haltedAt) return <Badge tone="emerald">Live</Badge>;
  return (
    <span className="inline-flex gap-1">
      {haltedAt && <Badge tone="red">Halted</Badge>}
      {pausedAt && <Badge tone="amber">Paused</Badge>}
    </span>
  );
}
