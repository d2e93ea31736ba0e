"use client";

// A YAML editor without a dependency: a transparent textarea over a highlighted <pre> with the same metrics,
// line numbers, and problems marked at their lines and listed below.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";

export interface YamlProblem {
  message: string;
  /** Field path, e.g. `files[0].path`. */
  path?: string;
  /** 1-based. */
  line?: number;
  column?: number;
}

const LINE_PX = 20;
const PAD_Y = 8;

// Shared by the highlight layer and the textarea: any difference here shows as text and caret drifting apart.
const METRICS = "m-0 whitespace-pre px-3 py-2 font-mono text-[13px] leading-5 [tab-size:2]";

export function YamlEditor({
  label,
  value,
  onChange,
  problems = [],
  rows = 16,
  placeholder,
  hint,
  readOnly,
  name,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  problems?: YamlProblem[];
  rows?: number;
  placeholder?: string;
  hint?: string;
  readOnly?: boolean;
  name?: string;
}) {
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const layer = useRef<HTMLDivElement>(null);
  const gutter = useRef<HTMLDivElement>(null);

  const lines = useMemo(() => highlight(value), [value]);
  const byLine = useMemo(() => {
    const map = new Map<number, YamlProblem[]>();
    for (const p of problems) if (p.line) map.set(p.line, [...(map.get(p.line) ?? []), p]);
    return map;
  }, [problems]);

  const sync = () => {
    const ta = textarea.current;
    if (!ta) return;
    if (layer.current) layer.current.style.transform = `translate(${-ta.scrollLeft}px, ${-ta.scrollTop}px)`;
    if (gutter.current) gutter.current.style.transform = `translateY(${-ta.scrollTop}px)`;
  };
  // A new value (e.g. a file loaded into the editor) can change the scroll range without a scroll event.
  useEffect(sync, [value]);
  // Text typed before the page finished loading is in the DOM but not yet in state.
  useEffect(() => {
    if (textarea.current && textarea.current.value !== value) onChange(textarea.current.value);
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter keeps the indentation of the current line (and indents after "key:"), as YAML nesting needs.
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.nativeEvent.isComposing) return;
    const ta = event.currentTarget;
    const start = ta.selectionStart;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    const current = value.slice(lineStart, start);
    let indent = /^[ ]*/.exec(current)![0];
    if (/^\s*- /.test(current) && !/:\s*$/.test(current)) indent = indent + "  ";
    else if (/:\s*(\|[-+]?|>[-+]?)?\s*$/.test(current)) indent = indent + "  ";
    event.preventDefault();
    // insertText keeps the browser's undo history; the fallback covers engines without it.
    if (!document.execCommand?.("insertText", false, "\n" + indent)) {
      const next = value.slice(0, start) + "\n" + indent + value.slice(ta.selectionEnd);
      onChange(next);
      requestAnimationFrame(() => ta.setSelectionRange(start + 1 + indent.length, start + 1 + indent.length));
    }
  }

  function goToLine(line: number) {
    const ta = textarea.current;
    if (!ta) return;
    const all = value.split("\n");
    const offset = all.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    ta.focus();
    ta.setSelectionRange(offset, offset + (all[line - 1]?.length ?? 0));
    ta.scrollTop = Math.max(0, (line - 3) * LINE_PX);
    sync();
  }

  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const digits = String(lines.length).length;
  const describedBy = [problems.length ? `${id}-problems` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;

  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      {hint && (
        <p id={`${id}-hint`} className="mt-0.5 text-xs text-slate-500">
          {hint}
        </p>
      )}
      <div
        className={`relative mt-1 flex resize-y overflow-hidden rounded-md border bg-white shadow-sm focus-within:ring-2 focus-within:ring-brand-500 ${problems.length ? "border-red-400" : "border-slate-300"}`}
        style={{ height: rows * LINE_PX + 2 * PAD_Y + 2, minHeight: 4 * LINE_PX + 2 * PAD_Y }}
      >
        <div aria-hidden className="relative shrink-0 select-none overflow-hidden border-r border-slate-200 bg-slate-50 text-right text-slate-400">
          <div ref={gutter} className="py-2 font-mono text-[12px] leading-5" style={{ width: `${digits + 2.5}ch` }}>
            {lines.map((_, i) => {
              const marked = byLine.has(i + 1);
              return (
                <div key={i} data-error-line={marked ? i + 1 : undefined} className={`pr-2 ${marked ? "bg-red-100 font-semibold text-red-700" : ""}`}>
                  {marked ? "●" : ""}
                  {i + 1}
                </div>
              );
            })}
          </div>
        </div>
        <div className="relative min-w-0 flex-1">
          <div aria-hidden className="pointer-events-none absolute inset-0 overflow-hidden">
            <div ref={layer} className="min-w-full w-max">
              <pre className={`${METRICS} pb-10 pr-10 text-slate-800`}>
                {lines.map((tokens, i) => (
                  <span
                    key={i}
                    className={`block ${byLine.has(i + 1) ? "bg-red-50 underline decoration-red-500 decoration-wavy underline-offset-4" : ""}`}
                  >
                    {tokens.length === 0 ? " " : tokens.map((t, j) => (t.kind ? <span key={j} className={TOKEN_CLASS[t.kind]}>{t.text}</span> : t.text))}
                  </span>
                ))}
              </pre>
            </div>
          </div>
          <textarea
            ref={textarea}
            id={id}
            name={name}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onScroll={sync}
            onKeyDown={onKeyDown}
            readOnly={readOnly}
            placeholder={placeholder}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            autoCorrect="off"
            wrap="off"
            aria-invalid={problems.length ? true : undefined}
            aria-describedby={describedBy}
            className={`${METRICS} absolute inset-0 h-full w-full resize-none overflow-auto bg-transparent text-transparent caret-slate-900 outline-none selection:bg-brand-500/25 placeholder:text-slate-400`}
          />
        </div>
      </div>
      {sorted.length > 0 && (
        <ul id={`${id}-problems`} aria-label="Problems found in the YAML" className="mt-2 space-y-1 text-sm text-red-800">
          {sorted.slice(0, 50).map((p, i) => (
            <li key={i} className="flex gap-2">
              {p.line ? (
                <button type="button" onClick={() => goToLine(p.line!)} className="shrink-0 rounded bg-red-100 px-1.5 font-mono text-xs font-medium text-red-800 hover:bg-red-200">
                  Line {p.line}
                </button>
              ) : (
                <span className="shrink-0 rounded bg-red-100 px-1.5 font-mono text-xs font-medium">—</span>
              )}
              <span>
                {p.path && <code className="mr-1 font-mono text-xs text-red-900">{p.path}:</code>}
                {p.message}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The value `ms` after it last changed: validation runs when typing pauses, not on every key. */
export function useDebouncedValue<T>(value: T, ms = 300): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

// ---------------------------------------------------------------------------------------------------------------
// Highlighting: a line scanner that knows keys, list dashes, scalars, flow collections, comments and block scalars.
// It only colours; the parser decides what is valid.

type TokenKind = "key" | "punct" | "string" | "literal" | "comment" | "block" | "anchor" | "marker";
interface Token {
  kind?: TokenKind;
  text: string;
}

const TOKEN_CLASS: Record<TokenKind, string> = {
  key: "text-sky-800 font-medium",
  punct: "text-slate-400",
  string: "text-emerald-700",
  literal: "text-amber-700",
  comment: "text-slate-400 italic",
  block: "text-emerald-800",
  anchor: "text-fuchsia-700",
  marker: "text-violet-700",
};

export function highlight(text: string): Token[][] {
  const out: Token[][] = [];
  // Indentation of the line that opened a block scalar (`key: |`); deeper lines are its text.
  let blockIndent: number | null = null;
  for (const line of text.split("\n")) {
    const indent = /^ */.exec(line)![0].length;
    if (blockIndent !== null) {
      if (line.trim() === "" || indent > blockIndent) {
        out.push(line ? [{ kind: "block", text: line }] : []);
        continue;
      }
      blockIndent = null;
    }
    const { tokens, opensBlock } = highlightLine(line);
    if (opensBlock) blockIndent = indent;
    out.push(tokens);
  }
  return out;
}

function highlightLine(line: string): { tokens: Token[]; opensBlock: boolean } {
  const tokens: Token[] = [];
  let rest = line;
  const take = (n: number, kind?: TokenKind) => {
    if (n <= 0) return;
    tokens.push({ kind, text: rest.slice(0, n) });
    rest = rest.slice(n);
  };
  take(/^\s*/.exec(rest)![0].length);
  if (/^(---|\.\.\.)(\s|$)/.test(rest)) {
    take(3, "marker");
    take(rest.length, rest.trim().startsWith("#") ? "comment" : undefined);
    return { tokens, opensBlock: false };
  }
  if (rest.startsWith("#")) {
    take(rest.length, "comment");
    return { tokens, opensBlock: false };
  }
  // Sequence dashes, possibly nested on one line: "- - a".
  for (let m = /^-(\s+|$)/.exec(rest); m; m = /^-(\s+|$)/.exec(rest)) {
    take(1, "punct");
    take(m[1].length);
  }
  const key = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}[\],&*!|>%@`][^#]*?)(\s*)(:)(\s+|$)/.exec(rest);
  if (key) {
    take(key[1].length, "key");
    take(key[2].length);
    take(1, "punct");
    take(key[4].length);
  }
  return { tokens: [...tokens, ...valueTokens(rest)], opensBlock: /^[|>][-+0-9]*\s*(#.*)?$/.test(rest) };
}

function valueTokens(value: string): Token[] {
  const tokens: Token[] = [];
  let rest = value;
  const take = (n: number, kind?: TokenKind) => {
    if (n <= 0) return;
    tokens.push({ kind, text: rest.slice(0, n) });
    rest = rest.slice(n);
  };
  while (rest.length) {
    const ws = /^\s+/.exec(rest);
    if (ws) {
      take(ws[0].length);
      continue;
    }
    const c = rest[0];
    if (c === "#") take(rest.length, "comment");
    else if (c === '"') take(quotedLength(rest, '"'), "string");
    else if (c === "'") take(quotedLength(rest, "'"), "string");
    else if ("[]{},".includes(c)) take(1, "punct");
    else if ((c === "&" || c === "*") && /^[&*][^\s,[\]{}]+/.test(rest)) take(/^[&*][^\s,[\]{}]+/.exec(rest)![0].length, "anchor");
    else if ((c === "|" || c === ">") && /^[|>][-+0-9]*\s*(#|$)/.test(rest)) take(/^[|>][-+0-9]*/.exec(rest)![0].length, "marker");
    else {
      // A plain scalar runs to a comment, or inside a flow collection to the next separator.
      const inFlow = tokens.some((t) => t.kind === "punct" && (t.text === "[" || t.text === "{"));
      const m = (inFlow ? /^[^,[\]{}#]*?(?=\s*(,|\]|\}|\s#|$))/ : /^.*?(?=\s+#|$)/).exec(rest);
      const scalar = m && m[0].length ? m[0] : rest.slice(0, 1);
      take(scalar.length, /^(true|false|null|~|[-+]?(\d[\d_]*)(\.\d+)?([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+)$/.test(scalar.trim()) ? "literal" : undefined);
    }
  }
  return tokens;
}

function quotedLength(text: string, quote: '"' | "'"): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return text.length;
}
