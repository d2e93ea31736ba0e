// Pick two repository revisions by number and open their diff: a plain GET form, so it works before (and without)
// JavaScript. Numbers, not lists of every revision: a busy flavour has hundreds, and the paged table lists them.
import { Button } from "../ui/button";
import { Field } from "../ui/field";

export function CompareForm({ flavourId, latest, from, to }: { flavourId: string; /** The newest revision's number. */ latest: number; from?: number; to?: number }) {
  const hint = `A revision (1–${latest})`;
  return (
    <form method="get" action={`/flavours/${flavourId}/repository/diff`} aria-label="Compare revisions" className="flex flex-wrap items-end gap-3">
      <Field label="From" name="from" type="number" min={1} max={latest} required defaultValue={from === undefined ? undefined : String(from)} hint={hint} className="w-48" />
      <Field label="To" name="to" type="number" min={1} max={latest} required defaultValue={to === undefined ? undefined : String(to)} hint={hint} className="w-48" />
      <Button type="submit" variant="secondary">
        Compare
      </Button>
    </form>
  );
}
