// The definition a repository package was built from, readable: its steps as shell code, its overlay files with path
// and mode, and which artefact paths it keeps or drops. No hooks; <details> folds file contents away.
import type { PackageDefinition } from "@/lib/manifest/schema";
import { formatBytes } from "../builds/format";

const byteLength = (text: string) => new TextEncoder().encode(text).length;

function Subsection({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section aria-label={title} className="space-y-1.5">
      <h3 className="text-sm font-semibold text-slate-800">{title}</h3>
      {children}
    </section>
  );
}

export function PackageDefinitionView({ definition }: { definition: PackageDefinition }) {
  const { steps, files, includes, excludes } = definition;
  return (
    <div className="space-y-5">
      <Subsection title={`Steps (${steps.length})`}>
        {steps.length === 0 ? (
          <p className="text-sm text-slate-600">No steps: the package is only its overlay files.</p>
        ) : (
          <>
            <p className="text-xs text-slate-500">
              Run in order with <code className="font-mono">/bin/sh -ec</code> in a container started from the image of the package before it; the first that fails stops the build.
            </p>
            <ol className="space-y-1">
              {steps.map((step, i) => (
                <li key={i} className="flex gap-2">
                  <span className="w-5 shrink-0 pt-1 text-right font-mono text-xs text-slate-400">{i + 1}</span>
                  <pre className="min-w-0 flex-1 overflow-x-auto rounded bg-slate-900 px-2.5 py-1.5 font-mono text-xs leading-5 text-slate-100">{step}</pre>
                </li>
              ))}
            </ol>
          </>
        )}
      </Subsection>
      <Subsection title={`Overlay files (${files.length})`}>
        {files.length === 0 ? (
          <p className="text-sm text-slate-600">None: everything this package holds comes from its steps.</p>
        ) : (
          <>
            <p className="text-xs text-slate-500">Written into the container before the steps run.</p>
            <ul className="divide-y divide-slate-100 rounded-md border border-slate-200">
              {files.map((f) => (
                <li key={f.path} className="px-3 py-1.5">
                  <details>
                    <summary className="cursor-pointer font-mono text-xs">
                      <span className="text-slate-900">{f.path}</span> <span className="text-slate-500">mode {f.mode.padStart(4, "0")}</span>{" "}
                      <span className="font-sans text-slate-400">· {formatBytes(byteLength(f.content))}</span>
                    </summary>
                    <pre className="mt-1 max-h-64 overflow-auto rounded border border-slate-200 bg-slate-50 px-2 py-1 font-mono text-xs">{f.content}</pre>
                  </details>
                </li>
              ))}
            </ul>
          </>
        )}
      </Subsection>
      <Subsection title="What the artefact keeps">
        <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 text-sm">
          <dt className="text-slate-500">Includes</dt>
          <dd>
            {includes.length === 0 ? (
              <span className="text-slate-600">every path the steps add or change</span>
            ) : (
              <ul className="flex flex-wrap gap-1">
                {includes.map((re) => (
                  <li key={re} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                    {re}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt className="text-slate-500">Excludes</dt>
          <dd>
            {excludes.length === 0 ? (
              <span className="text-slate-600">nothing</span>
            ) : (
              <ul className="flex flex-wrap gap-1">
                {excludes.map((re) => (
                  <li key={re} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">
                    {re}
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </dl>
        <p className="text-xs text-slate-500">Regular expressions on the artefact&apos;s absolute paths: only paths matching an include are kept (all when there is none), then excluded ones are dropped.</p>
      </Subsection>
    </div>
  );
}
