"use client";

// Import an image made by hand: check a reference (what it holds, which build it was made from), then import exactly
// the digest the check showed and open the imported build.
import { useState, type FormEvent } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert } from "../ui/problem";
import { formatBytes } from "./format";

interface ImportPlan {
  reference: string;
  source: string;
  digest: string;
  size: number;
  parent: { id: string; version: string; layers: number };
  layers: Array<{ position: number; diffId: string; digest: string; size: number; createdBy: string | null }>;
  version: string;
}

export function ImportForm({ flavourId, example }: { flavourId: string; example: string }) {
  const router = useRouter();
  const [reference, setReference] = useState("");
  const [plan, setPlan] = useState<ImportPlan | null>(null);
  const [pending, setPending] = useState<"check" | "import" | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function check(event: FormEvent) {
    event.preventDefault();
    setPending("check");
    setError(null);
    setPlan(null);
    try {
      setPlan(await api<ImportPlan>(`/api/v1/flavours/${flavourId}/imports/check`, { body: { reference } }));
    } catch (err) {
      setError(err);
    } finally {
      setPending(null);
    }
  }

  async function importChecked() {
    if (!plan) return;
    setPending("import");
    setError(null);
    try {
      const build = await api<{ id: string }>(`/api/v1/flavours/${flavourId}/imports`, { body: { reference: plan.reference, digest: plan.digest } });
      router.push(`/builds/${build.id}`);
    } catch (err) {
      setError(err);
      setPending(null);
    }
  }

  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        Changed a build by hand? Start it with <code className="font-mono">docker run</code>, make your changes, <code className="font-mono">docker commit</code> the container and{" "}
        <code className="font-mono">docker push</code> it to <code className="font-mono">{example}</code>. Check it here to see what it adds to which build, then import it: it becomes a build
        of this flavour you can release and make disk images of.
      </p>
      <form onSubmit={check} className="flex flex-wrap items-end gap-3" aria-label="Import an image">
        <Field
          label="Image reference"
          name="reference"
          className="min-w-72 flex-1"
          placeholder={example}
          value={reference}
          onChange={(e) => {
            setReference(e.target.value);
            setPlan(null);
          }}
          required
          autoComplete="off"
          spellCheck={false}
        />
        <Button type="submit" variant="secondary" disabled={pending !== null || reference.trim() === ""}>
          {pending === "check" ? "Checking…" : "Check image"}
        </Button>
      </form>
      {error != null && <ProblemAlert error={error} title={pending === null && plan ? "The image was not imported." : "This image cannot be imported."} />}
      {plan && (
        <section aria-label="What the import brings in" className="space-y-3 rounded-md border border-slate-200 bg-slate-50 px-4 py-3">
          <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-3">
            <div>
              <dt className="text-xs text-slate-500">Made from build</dt>
              <dd>
                <Link href={`/builds/${plan.parent.id}`} className="font-mono font-medium text-brand-600 hover:underline">
                  {plan.parent.version}
                </Link>
                <span className="text-slate-600"> ({plan.parent.layers} layers)</span>
              </dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Becomes build</dt>
              <dd className="font-mono" data-testid="import-version">
                {plan.version}
              </dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Image size</dt>
              <dd className="tabular-nums">{formatBytes(plan.size)}</dd>
            </div>
            <div className="sm:col-span-3">
              <dt className="text-xs text-slate-500">Digest</dt>
              <dd className="font-mono text-xs break-all" data-testid="import-digest">
                {plan.digest}
              </dd>
            </div>
          </dl>
          <table className="w-full text-left text-sm">
            <caption className="mb-1 text-left text-xs font-medium text-slate-500">
              {plan.layers.length} extra layer{plan.layers.length === 1 ? "" : "s"} on top of {plan.parent.version}
            </caption>
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-1 pr-3">
                  Layer
                </th>
                <th scope="col" className="px-3 text-right">
                  Size
                </th>
                <th scope="col" className="py-1 pl-3">
                  Made by
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-200">
              {plan.layers.map((l) => (
                <tr key={l.diffId} className="align-top">
                  <td className="py-1 pr-3 whitespace-nowrap">
                    {l.position} <span className="font-mono text-xs text-slate-500">{l.diffId.slice(7, 19)}</span>
                  </td>
                  <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums">{formatBytes(l.size)}</td>
                  <td className="py-1 pl-3 font-mono text-xs break-all text-slate-700">{l.createdBy ?? <span className="font-sans text-slate-400">not recorded</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="flex items-center gap-3">
            <Button type="button" onClick={importChecked} disabled={pending !== null} aria-busy={pending === "import" || undefined}>
              {pending === "import" ? "Importing…" : `Import as ${plan.version}`}
            </Button>
            <span className="text-xs text-slate-500">Imports exactly this digest; if the tag has moved since, you are asked to check again.</span>
          </div>
        </section>
      )}
    </div>
  );
}
