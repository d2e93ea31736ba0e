// Links between the pages of a list paged with cursors (lib/api/cursor.ts); every link keeps the list's filters.
import Link from "next/link";

/** One value of a search parameter (the first when it is repeated). */
export const oneParam = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** `path` with the filters that are set, and the cursor when given. */
export function pageHref(path: string, filters: Record<string, string | number | undefined | null>, cursor?: string | null): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
  if (cursor) query.set("cursor", cursor);
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * "Newest" back to the first page (shown when not on it) and "Older" to the next one (when there is one). Cursors
 * only lead forward; the first page is one click away and the browser's Back button returns to the page before.
 */
export function Pager({
  label,
  path,
  filters,
  next,
  onFirstPage,
  shown,
  firstLabel = "Newest",
  nextLabel = "Older",
}: {
  /** The accessible name of the navigation, e.g. "Pages of builds". */
  label: string;
  path: string;
  filters: Record<string, string | number | undefined | null>;
  next: string | null;
  onFirstPage: boolean;
  /** E.g. "Showing 50 builds" — what this page holds. */
  shown?: string;
  firstLabel?: string;
  nextLabel?: string;
}) {
  if (onFirstPage && !next && !shown) return null;
  const link = "rounded-md bg-white px-3 py-1.5 font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  return (
    <nav aria-label={label} className="mt-4 flex flex-wrap items-center gap-3 text-sm">
      {!onFirstPage && (
        <Link href={pageHref(path, filters)} className={link}>
          ← {firstLabel}
        </Link>
      )}
      {next && (
        <Link href={pageHref(path, filters, next)} rel="next" className={link}>
          {nextLabel} →
        </Link>
      )}
      {shown && <span className="text-slate-500">{shown}</span>}
    </nav>
  );
}
