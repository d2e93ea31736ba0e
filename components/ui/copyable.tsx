// A labelled value worth copying (a registry reference, a digest): the value in a code box and a Copy button beside it.
import { CopyButton } from "../builds/copy-button";

export function Copyable({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div>
      <dt className="text-xs font-medium text-slate-500">{label}</dt>
      <dd className="mt-1 flex items-center gap-2">
        <code data-testid={testId} className="min-w-0 flex-1 rounded-md bg-slate-50 px-2.5 py-1.5 font-mono text-[13px] break-all text-slate-800 ring-1 ring-slate-200 ring-inset">
          {value}
        </code>
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
      </dd>
    </div>
  );
}
