// One package definition, readable: identity, what it requires and what needs it, then steps and files folded away.
import type { PackageDefinition } from "@/lib/manifest/schema";

export const packageAnchor = (id: string) => `pkg-${id.replace("/", "-")}`;

export function PackageDetails({ pkg, position, requiredBy = [] }: { pkg: PackageDefinition; position: number; requiredBy?: string[] }) {
  const id = `${pkg.category}/${pkg.name}`;
  return (
    <article id={packageAnchor(id)} aria-label={id} className="scroll-mt-6 py-3">
      <header className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <span className="w-6 text-right text-xs tabular-nums text-slate-400">{position}.</span>
        <h3 className="font-mono text-sm font-semibold text-slate-900">
          <span className="text-slate-500">{pkg.category}/</span>
          {pkg.name}
        </h3>
        <span className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700">{pkg.version}</span>
      </header>
      <div className="ml-9 mt-1 space-y-1.5 text-sm">
        {pkg.description && <p className="whitespace-pre-line text-slate-600">{pkg.description}</p>}
        <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-0.5 text-xs">
          <dt className="text-slate-500">Requires</dt>
          <dd>{pkg.requires.length ? <IdLinks ids={pkg.requires} /> : <span className="text-slate-400">nothing (builds on the base image)</span>}</dd>
          {requiredBy.length > 0 && (
            <>
              <dt className="text-slate-500">Required by</dt>
              <dd>
                <IdLinks ids={requiredBy} />
              </dd>
            </>
          )}
          {pkg.includes.length > 0 && (
            <>
              <dt className="text-slate-500">Keeps only</dt>
              <dd className="font-mono">{pkg.includes.join("  ")}</dd>
            </>
          )}
          {pkg.excludes.length > 0 && (
            <>
              <dt className="text-slate-500">Drops</dt>
              <dd className="font-mono">{pkg.excludes.join("  ")}</dd>
            </>
          )}
        </dl>
        {pkg.steps.length > 0 && (
          <details className="group">
            <summary className="cursor-pointer text-xs font-medium text-slate-700 hover:text-slate-900">Steps ({pkg.steps.length})</summary>
            <ol className="mt-1 space-y-1">
              {pkg.steps.map((step, i) => (
                <li key={i} className="flex gap-2">
                  <span className="w-5 shrink-0 text-right font-mono text-xs text-slate-400">{i + 1}</span>
                  <pre className="min-w-0 flex-1 overflow-x-auto rounded bg-slate-900 px-2 py-1 font-mono text-xs text-slate-100">{step}</pre>
                </li>
              ))}
            </ol>
          </details>
        )}
        {pkg.files.length > 0 && (
          <details>
            <summary className="cursor-pointer text-xs font-medium text-slate-700 hover:text-slate-900">Files ({pkg.files.length})</summary>
            <ul className="mt-1 space-y-2">
              {pkg.files.map((f) => (
                <li key={f.path}>
                  <p className="font-mono text-xs">
                    {f.path} <span className="text-slate-500">mode {f.mode}</span>
                  </p>
                  <pre className="mt-0.5 max-h-64 overflow-auto rounded border border-slate-200 bg-slate-50 px-2 py-1 font-mono text-xs">{f.content}</pre>
                </li>
              ))}
            </ul>
          </details>
        )}
      </div>
    </article>
  );
}

function IdLinks({ ids }: { ids: string[] }) {
  return (
    <span className="flex flex-wrap gap-1">
      {ids.map((id) => (
        <a key={id} href={`#${packageAnchor(id)}`} className="rounded bg-brand-50 px-1.5 py-0.5 font-mono text-brand-700 hover:underline">
          {id}
        </a>
      ))}
    </span>
  );
}
