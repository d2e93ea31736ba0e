// Pick two repository revisions and open their diff: a plain GET form, so it works before (and without) JavaScript.
import { Button } from "../ui/button";
import { SelectField } from "../ui/controls";

export interface RevisionChoice {
  number: number;
  version: string;
}

export function CompareForm({ flavourId, revisions, from, to }: { flavourId: string; revisions: RevisionChoice[]; from?: number; to?: number }) {
  const option = (r: RevisionChoice) => (
    <option key={r.number} value={r.number}>
      Revision {r.number} ({r.version})
    </option>
  );
  return (
    <form method="get" action={`/flavours/${flavourId}/repository/diff`} aria-label="Compare revisions" className="flex flex-wrap items-end gap-3">
      <SelectField label="From" name="from" defaultValue={from === undefined ? undefined : String(from)} className="w-64">
        {revisions.map(option)}
      </SelectField>
      <SelectField label="To" name="to" defaultValue={to === undefined ? undefined : String(to)} className="w-64">
        {revisions.map(option)}
      </SelectField>
      <Button type="submit" variant="secondary">
        Compare
      </Button>
    </form>
  );
}
