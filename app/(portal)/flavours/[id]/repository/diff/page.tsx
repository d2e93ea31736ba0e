import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { NotFoundError } from "@/lib/errors";
import { diffFlavourRevisions, listPackageFiles, listRepositoryRevisions } from "@/lib/repository/queries";
import type { IndexPackage } from "@/lib/repository/types";
import { Alert } from "@/components/ui/alert";
import { Card, PageHeader } from "@/components/ui/card";
import { CompareForm } from "@/components/repository/compare-form";
import { RepositoryDiffView, type RevisionDiff } from "@/components/repository/diff-view";
import type { FilePage } from "@/components/repository/format";
import { loadFlavour } from "../../load";
import { parseRevisionNumber } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `Repository changes of ${(await loadFlavour(actor, id)).name}` };
}

/** Files listed for each whole package added or removed; its page has the rest. */
const WHOLE_PACKAGE_FILES = 200;
/** Whole packages whose files are listed (a rebase can add dozens; the others link to their pages). */
const WHOLE_PACKAGES_LISTED = 20;

export default async function RepositoryDiffPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ from?: string | string[]; to?: string | string[] }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const query = await searchParams;
  const flavour = await loadFlavour(actor, id);
  const db = getDb();
  // The two newest: the default comparison (the form takes numbers; the repository page lists every revision).
  const { revisions } = await listRepositoryRevisions(db, actor, flavour.id, { limit: 2 });
  const latest = revisions[0]?.number ?? 0;

  // Missing, malformed and unknown numbers get a message and the form, never an error page.
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const fromText = first(query.from);
  const toText = first(query.to);
  const problems: string[] = [];
  const from = parseRevisionNumber(fromText);
  const to = parseRevisionNumber(toText);
  if (fromText !== undefined && from === null) problems.push(`“${fromText}” is not a revision number to compare from; revisions are numbered 1, 2, 3…`);
  if (toText !== undefined && to === null) problems.push(`“${toText}” is not a revision number to compare to; revisions are numbered 1, 2, 3…`);

  let diff: RevisionDiff | null = null;
  const addedFiles: Record<string, FilePage> = {};
  const removedFiles: Record<string, FilePage> = {};
  if (from !== null && to !== null) {
    try {
      diff = await diffFlavourRevisions(db, actor, flavour.id, from, to);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      problems.push(`${err.message} Pick two of the revisions below.`);
    }
  }
  if (diff) {
    const filesOf = async (revision: number, pkgs: IndexPackage[], into: Record<string, FilePage>) => {
      await Promise.all(
        pkgs.slice(0, WHOLE_PACKAGES_LISTED).map(async (p) => {
          into[`${p.category}/${p.name}`] = await listPackageFiles(db, actor, flavour.id, revision, p.category, p.name, { limit: WHOLE_PACKAGE_FILES });
        }),
      );
    };
    await Promise.all([filesOf(diff.to.number, diff.packages.added, addedFiles), filesOf(diff.from.number, diff.packages.removed, removedFiles)]);
  }

  const inRange = (n: number | null): n is number => n !== null && n <= latest;
  const defaultTo = inRange(to) ? to : revisions[0]?.number;
  const defaultFrom = inRange(from) ? from : (revisions[1]?.number ?? revisions[0]?.number);
  const title = diff ? `Revision ${diff.from.number} → ${diff.to.number}` : "Compare revisions";
  return (
    <>
      <Breadcrumb
        items={[
          { label: "Flavours", href: "/flavours" },
          { label: flavour.name, href: `/flavours/${flavour.id}` },
          { label: "Repository", href: `/flavours/${flavour.id}/repository` },
          { label: diff ? `Compare ${diff.from.number} → ${diff.to.number}` : "Compare" },
        ]}
      />
      <PageHeader
        title={title}
        description={`What changed in the repository of ${flavour.name}: size, packages and their files, and the Debian packages of the image.`}
        actions={
          <Link href={`/flavours/${flavour.id}/repository`} className="rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50">
            All revisions
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title="Compare">
          {revisions.length === 0 ? (
            <p className="text-sm text-slate-600">
              This repository has no revisions yet: the first successful build publishes revision 1.{" "}
              <Link href={`/flavours/${flavour.id}/builds`} className="text-brand-600 hover:underline">
                Go to the builds
              </Link>
              .
            </p>
          ) : (
            <div className="space-y-4">
              {problems.length > 0 && (
                <Alert tone="error">
                  {problems.map((p) => (
                    <p key={p}>{p}</p>
                  ))}
                </Alert>
              )}
              {!diff && problems.length === 0 && <p className="text-sm text-slate-600">Pick the revision to compare from and the one to compare to.</p>}
              {revisions.length === 1 && <p className="text-sm text-slate-600">There is one revision so far; the next successful build publishes another to compare it with.</p>}
              <CompareForm flavourId={flavour.id} latest={latest} from={defaultFrom} to={defaultTo} />
            </div>
          )}
        </Card>
        {diff && (
          <Card title="Changes">
            <RepositoryDiffView diff={diff} flavourId={flavour.id} addedFiles={addedFiles} removedFiles={removedFiles} />
          </Card>
        )}
      </div>
    </>
  );
}
