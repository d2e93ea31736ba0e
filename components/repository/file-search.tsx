"use client";

// "Which package ships this path?": searches every file of a revision by part of its path, a page at a time.
import { useState, type FormEvent } from "react";
import Link from "next/link";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import { formatBytes } from "../builds/format";
import { FILE_TYPE_LABEL, packagePath, revisionApi, type FileSearchPage } from "./format";

const PAGE = 50;

export function FileSearch({ flavourId, number }: { flavourId: string; number: number }) {
  const hydrated = useHydrated();
  const [text, setText] = useState("");
  const [query, setQuery] = useState<string | null>(null);
  const [matches, setMatches] = useState<FileSearchPage["matches"]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [pending, setPending] = useState<"search" | "more" | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function load(q: string, after: string | null) {
    const params = new URLSearchParams({ q, limit: String(PAGE) });
    if (after !== null) params.set("after", after);
    return api<FileSearchPage>(`${revisionApi(flavourId, number)}/files?${params}`);
  }

  async function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const q = text.trim();
    setError(null);
    if (!q) {
      setQuery(null);
      setMatches([]);
      setNext(null);
      setError(new Error("Type part of a path to search for, e.g. /usr/bin/hello."));
      return;
    }
    setPending("search");
    try {
      const page = await load(q, null);
      setQuery(q);
      setMatches(page.matches);
      setNext(page.next);
    } catch (err) {
      setError(err);
    } finally {
      setPending(null);
    }
  }

  async function more() {
    if (query === null || next === null) return;
    setPending("more");
    setError(null);
    try {
      const page = await load(query, next);
      setMatches((current) => current.concat(page.matches));
      setNext(page.next);
    } catch (err) {
      setError(err);
    } finally {
      setPending(null);
    }
  }

  return (
    <div className="space-y-3">
      <form onSubmit={search} role="search" aria-label="Find a file" className="flex flex-wrap items-end gap-3">
        <Field
          label="Find a file by path"
          value={text}
          onChange={(e) => setText(e.target.value)}
          className="min-w-64 flex-1"
          spellCheck={false}
          autoComplete="off"
        />
        <Button type="submit" variant="secondary" disabled={!hydrated || pending !== null} aria-busy={pending === "search" || undefined}>
          {pending === "search" ? "Searching…" : "Search"}
        </Button>
      </form>
      <p className="-mt-1 text-xs text-slate-500">Any part of a path, e.g. /usr/bin/ or os-release: the results say which package ships each file.</p>
      {error != null && <ProblemAlert error={error} title="The search did not run." />}
      <div aria-live="polite">
        {query !== null && matches.length === 0 && (
          <p className="text-sm text-slate-600">
            No file of this revision has “<span className="font-mono">{query}</span>” in its path. Paths are absolute, e.g. <span className="font-mono">/etc/hostname</span>.
          </p>
        )}
        {query !== null && matches.length > 0 && (
          <p className="text-sm text-slate-600">
            {matches.length}
            {next !== null ? "+" : ""} {matches.length === 1 ? "file" : "files"} with “<span className="font-mono">{query}</span>” in the path.
          </p>
        )}
      </div>
      {query !== null && matches.length > 0 && (
        <div className="-mx-5 overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Files whose path contains {query}</caption>
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
                <th scope="col" className="py-2 pr-5 pl-3">
                  Package
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {matches.map((m) => {
                const id = `${m.package.category}/${m.package.name}`;
                return (
                  <tr key={`${m.path}@${id}`}>
                    <td className="py-1.5 pr-3 pl-5 font-mono text-xs break-all text-slate-800">
                      {m.path}
                      {m.target && (
                        <span className="text-slate-500">
                          {m.type === "symlink" ? " → " : " = "}
                          {m.target}
                        </span>
                      )}
                    </td>
                    <td className="px-3 text-xs whitespace-nowrap text-slate-600">{FILE_TYPE_LABEL[m.type] ?? m.type}</td>
                    <td className="px-3 text-right text-xs whitespace-nowrap tabular-nums text-slate-600">{m.type === "file" ? formatBytes(m.size) : ""}</td>
                    <td className="py-1.5 pr-5 pl-3 text-xs whitespace-nowrap">
                      <Link href={packagePath(flavourId, number, m.package)} className="font-mono font-medium text-brand-600 hover:underline">
                        {id}
                      </Link>{" "}
                      <span className="font-mono text-slate-500">{m.package.version}</span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <Button type="button" variant="secondary" onClick={more} disabled={pending !== null} aria-busy={pending === "more" || undefined}>
          {pending === "more" ? "Loading…" : "More"}
        </Button>
      )}
    </div>
  );
}
