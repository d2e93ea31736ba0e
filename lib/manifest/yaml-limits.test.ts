// What a YAML document may cost: nodes and aliases are counted by the lexer before composing, and duplicate keys are
// found with one Set per mapping (the yaml library's own check compares each key with every earlier one).
import { afterEach, describe, expect, test, vi } from "vitest";
import { parseDocument } from "yaml";
import { duplicateKeys, MAX_ALIAS_COUNT, MAX_YAML_NODES, parseLayersYaml, parseManifestYaml, parseYamlWithSchema } from "./parse";
import { z } from "zod";

/** A layer whose `extra` mapping holds `count` distinct keys; 200k of them make about 2 MiB. */
const manyKeys = (count: number) => {
  const lines = ["- category: a", "  name: b", '  version: "1"', "  extra:"];
  for (let i = 0; i < count; i++) lines.push(`   k${i.toString(36)}: 0`);
  return lines.join("\n") + "\n";
};

afterEach(() => vi.restoreAllMocks());

describe("node and alias limits", () => {
  test("a 2 MiB document of 200k distinct keys is refused with the limit named, before it is composed", () => {
    const text = manyKeys(200_000);
    expect(text.length).toBeGreaterThan(1.9 * 1024 * 1024);
    const result = parseLayersYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].message).toContain(`more than ${MAX_YAML_NODES.toLocaleString("en")} nodes (keys, values and list items), the most Strata reads`);
    // Placed where the limit was passed: 7 nodes come before the keys (line 5 on), two per key.
    expect(result.errors[0].line).toBe(5 + (MAX_YAML_NODES + 1 - 9) / 2);
  });

  test("a document just under the limit is read as usual", () => {
    // 7 nodes before the keys, 2 per key.
    const keys = Math.floor((MAX_YAML_NODES - 7) / 2);
    const result = parseYamlWithSchema(manyKeys(keys), z.array(z.object({ extra: z.record(z.string(), z.number()) }).loose()));
    expect(result.ok).toBe(true);
    if (result.ok) expect(Object.keys(result.value[0].extra)).toHaveLength(keys);
  });

  test("more aliases than the cap are refused before composing", () => {
    const text = ["base: &b x", "uses:", ...Array.from({ length: MAX_ALIAS_COUNT + 1 }, () => "  - *b")].join("\n");
    const result = parseManifestYaml(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ message: expect.stringMatching(/more than 100 aliases/), line: 3 + MAX_ALIAS_COUNT });
  });
});

describe("duplicate keys", () => {
  test("are found in block and flow mappings, at the repeated key's line", () => {
    const text = ["- category: a", "  name: b", "  name: c", '  version: "1"', "  files: [{path: /x, path: /y}]"].join("\n");
    const result = parseLayersYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      expect.objectContaining({ message: 'the key "name" appears more than once in this mapping; keys must be unique', line: 3, column: 3 }),
      expect.objectContaining({ message: 'the key "path" appears more than once in this mapping; keys must be unique', line: 5 }),
    ]);
  });

  test("keys equal in value are duplicates (1 and 0x1 are the same number), a string \"1\" is not", () => {
    expect(duplicateKeys(parseDocument("1: a\n0x1: b\n", { uniqueKeys: false })).map((d) => d.key)).toEqual(["1"]);
    expect(duplicateKeys(parseDocument('1: a\n"1": b\n', { uniqueKeys: false }))).toEqual([]);
  });

  test("are checked with one Set lookup per key, not by comparing with every earlier key", () => {
    const doc = parseDocument(manyKeys(20_000), { uniqueKeys: false });
    const has = vi.spyOn(Set.prototype, "has");
    expect(duplicateKeys(doc)).toEqual([]);
    // 20,000 keys in the big mapping plus the 4 of the package: one lookup each.
    expect(has).toHaveBeenCalledTimes(20_004);
  });
});
