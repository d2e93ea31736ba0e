// Path and query values that must be numbers: anything else is a 404 (paths) or a 400 naming the parameter (queries).
import { BadRequestError, NotFoundError } from "../errors";

export function revisionNumber(value: string | undefined, what = "revision"): number {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1 || n > 2_147_483_647) throw new NotFoundError(`No such ${what}.`);
  return n;
}

export function queryRevision(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BadRequestError(`${name} must be a revision number (1, 2, …)${name === "from" ? ' or "base"' : ""}.`);
  return n;
}
