// Where the YAML editor completes package ids, and where a problem's diagnostic lands: pure functions over the text.
import { Text } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import { diagnosticsOf, inRequires } from "./codemirror";

const at = (lines: string[]) => {
  const doc = Text.of(lines);
  const last = lines.length;
  return inRequires(doc, last, lines[last - 1]);
};

describe("inRequires", () => {
  it("is true inside a flow list after requires, also after earlier ids", () => {
    expect(at(["name: a", "requires: [sys"])).toBe(true);
    expect(at(["requires: [system/base, lay"])).toBe(true);
    expect(at(["    requires: ["])).toBe(true);
  });

  it("is true for a dash item under requires, indented or at the same column, after sibling items", () => {
    expect(at(["requires:", "  - sys"])).toBe(true);
    expect(at(["requires:", "- sys"])).toBe(true);
    expect(at(["requires:", "  - system/base", "", "  - la"])).toBe(true);
    expect(at(["  - category: x", "    requires:", "      - sy"])).toBe(true);
  });

  it("is false elsewhere: a closed flow list, steps, other keys", () => {
    expect(at(["requires: [system/base] "])).toBe(false);
    expect(at(["steps:", "  - echo"])).toBe(false);
    expect(at(["requires: [system/base]", "steps:", "  - ech"])).toBe(false);
    expect(at(["name: sys"])).toBe(false);
  });
});

describe("diagnosticsOf", () => {
  const doc = Text.of(["category: layer", "  colour: blue", "", "steps: []"]);

  it("covers the line from its indentation, or from the column when known", () => {
    const [d] = diagnosticsOf(doc, [{ line: 2, message: 'unknown field "colour"', path: "colour" }]);
    expect(doc.sliceString(d.from, d.to)).toBe("colour: blue");
    expect(d.message).toBe('colour: unknown field "colour"');
    const [c] = diagnosticsOf(doc, [{ line: 2, column: 11, message: "x" }]);
    expect(doc.sliceString(c.from, c.to)).toBe("blue");
  });

  it("keeps problems without a line out, and clamps lines past the end", () => {
    expect(diagnosticsOf(doc, [{ message: "the definition is empty" }])).toEqual([]);
    const [d] = diagnosticsOf(doc, [{ line: 99, message: "at the end" }]);
    expect(doc.sliceString(d.from, d.to)).toBe("steps: []");
  });
});
