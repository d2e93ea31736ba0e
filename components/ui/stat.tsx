// One labelled figure of a <dl> grid (sizes, counts, versions): the label small above the value.
import type { ReactNode } from "react";

export function Stat({ label, children, className, title }: { label: string; children: ReactNode; className?: string; title?: string }) {
  return (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className={className} title={title}>
        {children}
      </dd>
    </div>
  );
}
