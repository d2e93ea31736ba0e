"use client";

// The YAML editor: CodeMirror 6 with YAML highlighting, problems as lint diagnostics at their lines (and listed
// below, with a button to jump to each), and completion of package ids in `requires`, fields and catalog entries.
// CodeMirror is loaded when the editor first mounts, so other pages do not carry it.
import { useEffect, useId, useRef, useState } from "react";
import type { MountedEditor } from "./yaml-editor/codemirror";

export interface YamlProblem {
  message: string;
  /** Field path, e.g. `files[0].path`. */
  path?: string;
  /** 1-based. */
  line?: number;
  column?: number;
}

/** What the editor offers as you type (Ctrl-Space opens the list). */
export interface YamlCompletion {
  /** Package ids for `requires`, from the current text (a manifest names its own packages). */
  packages?: (doc: string) => Array<{ id: string; detail?: string; info?: string }>;
  /** Top-level fields. */
  keys?: Array<{ label: string; detail?: string; info?: string }>;
  /** Whole definitions offered in an empty editor; `cursor` is where the caret lands (default: the end). */
  templates?: Array<{ label: string; detail?: string; info?: string; yaml: string; cursor?: number }>;
}

const LINE_PX = 20;
const PAD_Y = 8;

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
  completion,
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
  completion?: YamlCompletion;
}) {
  const id = useId();
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<MountedEditor | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // The text the editor last reported: when it comes back as `value` it is an echo, not a new value to put in (while
  // React renders, the editor may already hold newer keystrokes, which putting the echo back would drop).
  const reported = useRef<string | null>(null);

  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const describedBy = [problems.length ? `${id}-problems` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
  const invalid = problems.length > 0;
  // Forms pass a new array on each render; the diagnostics change only when the problems do.
  const problemsKey = JSON.stringify(problems);
  // The latest props, read by the editor's callbacks (the editor is mounted once).
  const latest = useRef({ onChange, completion, value, problems, label, describedBy, invalid });
  useEffect(() => {
    latest.current = { onChange, completion, value, problems, label, describedBy, invalid };
  });

  useEffect(() => {
    let cancelled = false;
    import("./yaml-editor/codemirror")
      .then(({ mountYamlEditor }) => {
        if (cancelled || !host.current) return;
        editor.current = mountYamlEditor({
          parent: host.current,
          value: latest.current.value,
          label,
          describedBy,
          placeholder,
          readOnly,
          onChange: (next) => {
            reported.current = next;
            latest.current.onChange(next);
          },
          completion: () => latest.current.completion,
        });
        // Props may have changed while CodeMirror loaded.
        const now = latest.current;
        editor.current.setAccessibility({ label: now.label, describedBy: now.describedBy, invalid: now.invalid });
        editor.current.setProblems(now.problems);
      })
      .catch((err: unknown) => {
        if (!cancelled) setLoadError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the effects below carry prop changes to the mounted editor
  }, []);

  useEffect(() => {
    if (value !== reported.current) editor.current?.setValue(value);
  }, [value]);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- problemsKey stands for problems
  useEffect(() => editor.current?.setProblems(problems), [problemsKey]);
  useEffect(() => editor.current?.setAccessibility({ label, describedBy, invalid }), [label, describedBy, invalid]);

  return (
    <div>
      {/* The editable area carries this text as its aria-label: CodeMirror's content is not a labelable element. */}
      <div id={`${id}-label`} className="block text-sm font-medium text-slate-700">
        {label}
      </div>
      {hint && (
        <p id={`${id}-hint`} className="mt-0.5 text-xs text-slate-500">
          {hint}
        </p>
      )}
      <div
        ref={host}
        data-testid="yaml-editor"
        className={`mt-1 resize-y overflow-hidden rounded-md border bg-white shadow-sm focus-within:ring-2 focus-within:ring-brand-500 ${invalid ? "border-red-400" : "border-slate-300"}`}
        style={{ height: rows * LINE_PX + 2 * PAD_Y + 2, minHeight: 4 * LINE_PX + 2 * PAD_Y }}
      />
      {name && <input type="hidden" name={name} value={value} />}
      {loadError && (
        <p role="alert" className="mt-2 text-sm text-red-800">
          The editor could not be loaded ({loadError}). Reload the page to try again.
        </p>
      )}
      {sorted.length > 0 && (
        <ul id={`${id}-problems`} aria-label="Problems found in the YAML" className="mt-2 space-y-1 text-sm text-red-800">
          {sorted.slice(0, 50).map((p, i) => (
            <li key={i} className="flex gap-2">
              {p.line ? (
                <button
                  type="button"
                  onClick={() => editor.current?.goToLine(p.line!)}
                  className="shrink-0 rounded bg-red-100 px-1.5 font-mono text-xs font-medium text-red-800 hover:bg-red-200"
                >
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
