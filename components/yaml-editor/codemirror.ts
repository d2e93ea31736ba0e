// The CodeMirror 6 side of the YAML editor, loaded on demand (import()) so pages without an editor do not carry it.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type Completion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { Compartment, EditorSelection, EditorState, type Text } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder as placeholderExt } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { YamlCompletion, YamlProblem } from "../yaml-editor";

export interface MountOptions {
  parent: HTMLElement;
  value: string;
  label: string;
  describedBy?: string;
  placeholder?: string;
  readOnly?: boolean;
  onChange: (value: string) => void;
  /** Read on every completion request, so the lists stay current without reconfiguring the editor. */
  completion: () => YamlCompletion | undefined;
}

export interface MountedEditor {
  view: EditorView;
  setValue(value: string): void;
  setProblems(problems: YamlProblem[]): void;
  setAccessibility(attrs: { label: string; describedBy?: string; invalid: boolean }): void;
  goToLine(line: number): void;
  destroy(): void;
}

// Colours of the old highlighter, so the editor looks as it did: keys sky, strings emerald, literals amber.
const highlightStyle = HighlightStyle.define([
  { tag: [tags.definition(tags.propertyName), tags.propertyName], color: "#075985", fontWeight: "500" },
  { tag: [tags.string, tags.special(tags.string)], color: "#047857" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom, tags.keyword], color: "#b45309" },
  { tag: [tags.comment, tags.lineComment], color: "#94a3b8", fontStyle: "italic" },
  { tag: [tags.punctuation, tags.separator, tags.squareBracket, tags.brace], color: "#94a3b8" },
  { tag: [tags.labelName, tags.typeName], color: "#a21caf" },
  { tag: [tags.meta, tags.processingInstruction], color: "#6d28d9" },
  { tag: tags.content, color: "#065f46" },
]);

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "13px", backgroundColor: "white" },
  "&.cm-focused": { outline: "none" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", lineHeight: "20px", overflow: "auto" },
  ".cm-content": { padding: "8px 0", caretColor: "#0f172a" },
  ".cm-line": { padding: "0 12px" },
  ".cm-gutters": { backgroundColor: "#f8fafc", borderRight: "1px solid #e2e8f0", color: "#94a3b8" },
  ".cm-activeLine": { backgroundColor: "#f8fafc" },
  ".cm-activeLineGutter": { backgroundColor: "#eef2f7" },
  ".cm-placeholder": { color: "#94a3b8" },
  ".cm-tooltip": { border: "1px solid #cbd5e1", borderRadius: "6px", backgroundColor: "white", boxShadow: "0 4px 12px rgb(15 23 42 / 0.12)" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "#2459b8", color: "white" },
  ".cm-completionDetail": { marginLeft: "0.75em", fontStyle: "normal", color: "#64748b" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected] .cm-completionDetail": { color: "#d9eaff" },
  ".cm-diagnostic-error": { borderLeft: "4px solid #dc2626", color: "#991b1b" },
  ".cm-lintRange-error": { backgroundColor: "#fef2f2" },
});

export function mountYamlEditor(options: MountOptions): MountedEditor {
  const a11y = new Compartment();
  const a11yAttrs = (label: string, describedBy: string | undefined, invalid: boolean) =>
    EditorView.contentAttributes.of({
      "aria-label": label,
      ...(describedBy ? { "aria-describedby": describedBy } : {}),
      ...(invalid ? { "aria-invalid": "true" } : {}),
      spellcheck: "false",
      autocapitalize: "off",
      autocorrect: "off",
    });
  // Set while the value is replaced from outside, so that change is not reported back as an edit.
  let applyingOutside = false;

  const view = new EditorView({
    parent: options.parent,
    state: EditorState.create({
      doc: options.value,
      extensions: [
        lineNumbers(),
        lintGutter(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        EditorState.tabSize.of(2),
        yaml(),
        syntaxHighlighting(highlightStyle),
        autocompletion({ override: [(context) => complete(context, options.completion())], icons: false }),
        // Tab is left to the browser, so keyboard users can leave the editor; Enter keeps YAML's indentation.
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        theme,
        a11y.of(a11yAttrs(options.label, options.describedBy, false)),
        ...(options.placeholder ? [placeholderExt(options.placeholder)] : []),
        ...(options.readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !applyingOutside) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });

  return {
    view,
    setValue(value) {
      if (value === view.state.doc.toString()) return;
      applyingOutside = true;
      try {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
      } finally {
        applyingOutside = false;
      }
    },
    setProblems(problems) {
      view.dispatch(setDiagnostics(view.state, diagnosticsOf(view.state.doc, problems)));
    },
    setAccessibility({ label, describedBy, invalid }) {
      view.dispatch({ effects: a11y.reconfigure(a11yAttrs(label, describedBy, invalid)) });
    },
    goToLine(line) {
      const doc = view.state.doc;
      const at = doc.line(Math.min(Math.max(1, line), doc.lines));
      view.dispatch({ selection: EditorSelection.range(at.from, at.to), effects: EditorView.scrollIntoView(at.from, { y: "center" }) });
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}

/** Problems with a line become diagnostics over that line (from the column when known); the others stay in the list below. */
export function diagnosticsOf(doc: Text, problems: YamlProblem[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of problems) {
    if (!p.line || p.line < 1) continue;
    const line = doc.line(Math.min(p.line, doc.lines));
    const indent = /^\s*/.exec(line.text)![0].length;
    const from = p.column && p.column > 1 ? Math.min(line.from + p.column - 1, line.to) : line.from + indent;
    out.push({ from, to: Math.max(from, line.to), severity: "error", message: p.path ? `${p.path}: ${p.message}` : p.message, source: "Strata" });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Completion: package ids inside `requires` (flow `[a, b]` or a block list), the fields of a definition at the start
// of a top-level line, and catalog entries (whole definitions) in an empty editor.

const ID_CHARS = /[a-z0-9/-]*/;

export function complete(context: CompletionContext, completion: YamlCompletion | undefined): CompletionResult | null {
  if (!completion) return null;
  const { state, pos } = context;
  const line = state.doc.lineAt(pos);
  const before = line.text.slice(0, pos - line.from);

  if (completion.packages && inRequires(state.doc, line.number, before)) {
    const word = context.matchBefore(/[a-z0-9][a-z0-9/-]*/);
    if (!word && !context.explicit && !/[[,]\s*$|-\s+$/.test(before)) return null;
    const from = word ? word.from : pos;
    // Ids the list names already are not offered again.
    const listed = new Set((before.match(/[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*/g) ?? []).filter((id) => !word || id !== word.text));
    const options: Completion[] = completion
      .packages(state.doc.toString())
      .filter((p) => !listed.has(p.id))
      .map((p) => ({ label: p.id, detail: p.detail, info: p.info, type: "constant" }));
    return options.length ? { from, options, validFor: ID_CHARS } : null;
  }

  // A top-level key: only at the start of a line, where YAML takes a field name.
  const key = context.matchBefore(/^[a-z_]*$/);
  if (key && (key.from < key.to || context.explicit)) {
    const options: Completion[] = [];
    const keys = completion.keys ?? [];
    const present = new Set(state.doc.toString().match(/^[a-z_]+(?=\s*:)/gm) ?? []);
    for (const k of keys) if (!present.has(k.label)) options.push({ label: k.label, apply: `${k.label}: `, detail: k.detail, info: k.info, type: "property" });
    // A catalog entry replaces the whole definition: offered only while the editor holds nothing else.
    if (completion.templates && state.doc.toString().trim() === key.text)
      for (const t of completion.templates)
        options.push({
          label: t.label,
          detail: t.detail ?? "catalog",
          info: t.info,
          type: "text",
          section: "From the catalog",
          apply: (view) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t.yaml }, selection: { anchor: Math.min(t.yaml.length, t.cursor ?? t.yaml.length) } }),
        });
    return options.length ? { from: key.from, options, validFor: /^[a-z_]*$/ } : null;
  }
  return null;
}

/** Whether the cursor is in a `requires` list: `requires: [a, b` on this line, or a `- ` item under a `requires:` key. */
export function inRequires(doc: Text, lineNumber: number, before: string): boolean {
  if (/(^|\s|-\s)requires\s*:\s*\[[^\]]*$/.test(before)) return true;
  const item = /^(\s*)-\s+[a-z0-9/-]*$/.exec(before);
  if (!item) return false;
  const indent = item[1].length;
  for (let n = lineNumber - 1; n >= 1; n--) {
    const text = doc.line(n).text;
    if (!text.trim() || text.trim().startsWith("#")) continue;
    const lineIndent = /^\s*/.exec(text)![0].length;
    // Sibling items of the same list.
    if (lineIndent === indent && /^\s*-\s/.test(text)) continue;
    // `requires:` either above the dashes or at the same column (YAML allows both), possibly as `- requires:`.
    return lineIndent <= indent && /^\s*(-\s+)?requires\s*:\s*(#.*)?$/.test(text);
  }
  return false;
}
