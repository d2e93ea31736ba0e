"use client";

// A package's whole file list, 200 paths a page (keyset on the path, so the thousandth page is as quick as the first),
// with a filter the server applies; the first page arrives with the page itself.
import { useEffect, useRef, useState } from "react";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import { formatBytes } from "../builds/format";
import { FILES_PER_PAGE, FILE_TYPE_LABEL, formatOctal, revisionApi, type FilePage } from "./format";

/** Wait this long after the last keystroke before asking the server. */
const FILTER_DELAY_MS = 250;

function filesUrl(flavourId: string, number: number, category: string, name: string, q: string, after: string | null) {
  const params = new URLSearchParams({ limit: String(FILES_PER_PAGE) });
  if (q) params.set("q", q);
  if (after !== null) params.set("after", after);
  return `${revisionApi(flavourId, number)}/packages/${encodeURIComponent(category)}/${encodeURIComponent(name)}/files?${params}`;
}

export function FileList({ flavourId, number, category, name, initial }: { flavourId: string; number: number; category: string; name: string; initial: FilePage }) {
  const hydrated = useHydrated();
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState<FilePage & { q: string }>({ ...initial, q: "" });
  const [pending, setPending] = useState<"filter" | "more" | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Only the answer to the newest request counts; a slow earlier one must not overwrite it.
  const latest = useRef(0);

  const url = (q: string, after: string | null) => filesUrl(flavourId, number, category, name, q, after);

  useEffect(() => {
    const q = filter.trim();
    // Any answer still on its way is for other text now (typing "a" and deleting it again must not show "a"'s files).
    const request = ++latest.current;
    if (q === page.q) return;
    const timer = setTimeout(() => {
      setPending("filter");
      setError(null);
      api<FilePage>(filesUrl(flavourId, number, category, name, q, null)).then(
        (loaded) => {
          if (request !== latest.current) return;
          setPage({ ...loaded, q });
          setPending(null);
        },
        (err: unknown) => {
          if (request !== latest.current) return;
          setError(err);
          setPending(null);
        },
      );
    }, FILTER_DELAY_MS);
    return () => clearTimeout(timer);
  }, [filter, page.q, flavourId, number, category, name]);

  async function more() {
    if (page.next === null) return;
    const request = ++latest.current;
    setPending("more");
    setError(null);
    try {
      const loaded = await api<FilePage>(url(page.q, page.next));
      if (request !== latest.current) return;
      setPage((current) => ({ ...loaded, q: current.q, files: current.files.concat(loaded.files) }));
    } catch (err) {
      if (request === latest.current) setError(err);
    } finally {
      if (request === latest.current) setPending(null);
    }
  }

  const filtered = page.q !== "";
  return (
    <div className="space-y-3">
      <Field
        label="Filter files"
        type="search"
        value={filter}
        onChange={(e) => {
          setFilter(e.target.value);
          // Back to the text on show: the filtering under way is dropped (the effect ignores its answer).
          if (e.target.value.trim() === page.q) setPending((current) => (current === "filter" ? null : current));
        }}
        placeholder="part of a path, e.g. /usr/bin/"
        autoComplete="off"
        spellCheck={false}
        disabled={!hydrated}
        className="max-w-md"
      />
      {error != null && <ProblemAlert error={error} title="The file list could not be loaded." />}
      <p className="text-xs text-slate-500" aria-live="polite" data-testid="file-count">
        {pending === "filter"
          ? "Filtering…"
          : page.total === 0
            ? filtered
              ? `No file of this package has “${page.q}” in its path.`
              : "This package added no files (its steps changed nothing that the artefact keeps)."
            : `${page.files.length} of ${page.total} ${filtered ? `files with “${page.q}” in the path` : page.total === 1 ? "file" : "files"}`}
      </p>
      {page.files.length > 0 && (
        <div className="-mx-5 overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Files of this package{filtered ? ` whose path contains ${page.q}` : ""}, by path</caption>
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-3 pl-5">
                  Path
                </th>
                <th scope="col" className="px-3">
                  Type
                </th>
                <th scope="col" className="px-3 text-right">
                  Size
                </th>
                <th scope="col" className="px-3">
                  Mode
                </th>
                <th scope="col" className="py-2 pr-5 pl-3">
                  Link target
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 font-mono text-xs">
              {page.files.map((f) => (
                <tr key={f.path}>
                  <td className="py-1 pr-3 pl-5 break-all text-slate-800">{f.path}</td>
                  <td className="px-3 font-sans whitespace-nowrap text-slate-600">{FILE_TYPE_LABEL[f.type] ?? f.type}</td>
                  <td className="px-3 text-right whitespace-nowrap tabular-nums text-slate-600">{f.type === "file" ? formatBytes(f.size) : ""}</td>
                  <td className="px-3 text-slate-600">{formatOctal(f.mode)}</td>
                  <td className="py-1 pr-5 pl-3 break-all text-slate-600">{f.target ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.next !== null && (
        <Button type="button" variant="secondary" onClick={more} disabled={!hydrated || pending !== null} aria-busy={pending === "more" || undefined}>
          {pending === "more" ? "Loading…" : "Load more"}
        </Button>
      )}
    </div>
  );
}
