import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors";
import {
  computeLayout,
  defaultDiskBytes,
  ESP_BYTES,
  formatBytes,
  GiB,
  MIN_STATE_BYTES,
  MiB,
  minimumDiskBytes,
  minimumSlotBytes,
  parseSize,
  partition,
  scriptEnvironment,
  sfdiskScript,
} from "./layout";

// About what the base manifest's image holds: 670 MB in 54 000 files.
const base = { bytes: 670 * 1000 * 1000, files: 54_000 };
const max = 64 * GiB;

describe("computeLayout", () => {
  it("lays out ESP, BIOS boot, two equal slots and state back to back from 1 MiB, state taking the rest but the backup GPT", () => {
    const layout = computeLayout(base, { maxBytes: max });
    expect(layout.partitions.map((p) => [p.number, p.name])).toEqual([
      [1, "strata-esp"],
      [2, "bios"],
      [3, "strata-a"],
      [4, "strata-b"],
      [5, "strata-state"],
    ]);
    expect(layout.partitions[0].offset).toBe(MiB);
    for (let i = 1; i < layout.partitions.length; i++) {
      const prev = layout.partitions[i - 1];
      expect(layout.partitions[i].offset).toBe(prev.offset + prev.size);
    }
    for (const p of layout.partitions) {
      expect(p.offset % MiB).toBe(0);
      expect(p.size % MiB).toBe(0);
    }
    const state = partition(layout, "strata-state");
    expect(state.offset + state.size).toBe(layout.size - MiB);
    expect(partition(layout, "strata-a").size).toBe(partition(layout, "strata-b").size);
    expect(partition(layout, "strata-esp").size).toBe(ESP_BYTES);
  });

  it("by default gives each slot room to grow by half and the state 1 GiB", () => {
    const layout = computeLayout(base, { maxBytes: max });
    expect(layout.size).toBe(defaultDiskBytes(base));
    expect(partition(layout, "strata-a").size).toBeGreaterThanOrEqual(minimumSlotBytes(base) * 1.5);
    expect(partition(layout, "strata-a").size % (256 * MiB)).toBe(0);
    expect(partition(layout, "strata-state").size).toBe(GiB);
  });

  it("gives a larger disk's extra room to the state partition, not the slots", () => {
    const layout = computeLayout(base, { size: 32 * GiB, maxBytes: max });
    expect(partition(layout, "strata-a").size).toBe(computeLayout(base, { maxBytes: max }).partitions[2].size);
    expect(partition(layout, "strata-state").size).toBeGreaterThan(28 * GiB);
  });

  it("shrinks the slots towards the minimum on a small disk, keeping 256 MiB of state", () => {
    const size = minimumDiskBytes(base) + 10 * MiB;
    const layout = computeLayout(base, { size, maxBytes: max });
    expect(partition(layout, "strata-a").size).toBeGreaterThanOrEqual(minimumSlotBytes(base));
    expect(partition(layout, "strata-state").size).toBeGreaterThanOrEqual(MIN_STATE_BYTES);
  });

  it("accepts exactly the minimum", () => {
    const layout = computeLayout(base, { size: minimumDiskBytes(base), maxBytes: max });
    expect(partition(layout, "strata-a").size).toBe(minimumSlotBytes(base));
    expect(partition(layout, "strata-state").size).toBe(MIN_STATE_BYTES);
  });

  it("refuses a disk too small for the root filesystem with a 422 naming the smallest size", () => {
    const attempt = () => computeLayout(base, { size: GiB, maxBytes: max });
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/1 GiB is too small for this build.*the smallest disk is/);
    try {
      attempt();
    } catch (err) {
      expect((err as ValidationError).status).toBe(422);
      expect((err as ValidationError).details).toMatchObject({ minimum: minimumDiskBytes(base), issues: [{ path: "size" }] });
    }
  });

  it("refuses a disk above the configured maximum", () => {
    expect(() => computeLayout(base, { size: 10 * GiB, maxBytes: 8 * GiB })).toThrow(/at most 8 GiB here; 10 GiB was asked for/);
  });

  it("rounds a size up to whole MiB", () => {
    expect(computeLayout(base, { size: 8 * GiB - 1, maxBytes: max }).size).toBe(8 * GiB);
  });

  it("needs more room for more small files (each may waste a block)", () => {
    expect(minimumSlotBytes({ bytes: base.bytes, files: 200_000 })).toBeGreaterThan(minimumSlotBytes(base));
  });
});

describe("sfdiskScript and scriptEnvironment", () => {
  it("writes the table in 512-byte sectors with the GPT types and names, and the byte offsets make-disk.sh reads", () => {
    const layout = computeLayout(base, { maxBytes: max });
    const script = sfdiskScript(layout);
    expect(script.split("\n")[0]).toBe("label: gpt");
    expect(script).toContain(`start=2048, size=${ESP_BYTES / 512}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="strata-esp"`);
    expect(script).toContain('type=21686148-6449-6E6F-744E-656564454649, name="bios"');
    expect(script).toContain(`last-lba: ${layout.size / 512 - 2049}`);
    const env = scriptEnvironment(layout, ["raw", "qcow2"]);
    expect(env).toMatchObject({ DISK_BYTES: String(layout.size), ESP_OFFSET: String(MiB), A_OFFSET: String(partition(layout, "strata-a").offset), FORMATS: "raw qcow2" });
  });
});

describe("parseSize and formatBytes", () => {
  it("reads binary units and plain bytes", () => {
    expect(parseSize("4G")).toBe(4 * GiB);
    expect(parseSize("4 GiB")).toBe(4 * GiB);
    expect(parseSize("3584M")).toBe(3584 * MiB);
    expect(parseSize("1.5g")).toBe(1.5 * GiB);
    expect(parseSize(123456)).toBe(123456);
    expect(parseSize("123456")).toBe(123456);
  });
  it("refuses what is not a size", () => {
    for (const bad of ["lots", "", "4X", "-1G", "0", 0, -5, 1.5, "G4"]) expect(parseSize(bad as string | number)).toBeNull();
  });
  it("prints sizes people read", () => {
    expect(formatBytes(4 * GiB)).toBe("4 GiB");
    expect(formatBytes(1.5 * GiB)).toBe("1.5 GiB");
    expect(formatBytes(300 * MiB)).toBe("300 MiB");
  });
});
