import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { PackageDefinitionSchema } from "../manifest/schema";
import { hostnameTimezoneLayer } from "../manifest/catalog";
import { finalLayer, hostsFile, identityFiles, osRelease, type ImageIdentity } from "./final-layer";

const identity: ImageIdentity = { flavour: "Kiosk $x", version: "r2.1", baseVersion: "strata-base 2", buildId: "b-1", hostname: "" };

async function entriesOf(gz: Buffer) {
  const out = new Map<string, { type: string; mode: number; linkname?: string | null; content: string }>();
  const extract = tar.extract();
  Readable.from(zlib.gunzipSync(gz)).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    let content = "";
    for await (const c of entry) content += (c as Buffer).toString();
    out.set(entry.header.name, { type: entry.header.type!, mode: entry.header.mode!, linkname: entry.header.linkname, content });
  }
  return out;
}

describe("final layer", () => {
  it("stamps the version and gives the image a neutral identity", async () => {
    const layer = await finalLayer(identity, new Date("2026-01-01T00:00:00Z"));
    const entries = await entriesOf(layer.blob);
    expect(entries.get("etc/resolv.conf")).toMatchObject({ type: "symlink", linkname: "../run/systemd/resolve/stub-resolv.conf" });
    expect(entries.get("etc/os-release")).toMatchObject({ type: "symlink", linkname: "../usr/lib/os-release" });
    expect(entries.get("etc/machine-id")).toMatchObject({ type: "file", content: "" });
    expect(entries.get("etc/hostname")).toMatchObject({ type: "file", content: "" });
    expect(entries.get("etc/hosts")?.content).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
    expect(entries.get("usr/lib/os-release")?.content).toContain('VERSION="r2.1 (base strata-base 2)"');
    // Every entry is root's: nothing of the build machine's users.
    expect(layer.paths).toEqual(["/etc/hostname", "/etc/hosts", "/etc/machine-id", "/etc/os-release", "/etc/resolv.conf", "/usr/lib/os-release"]);
    expect(layer.diffId).toBe(`sha256:${createHash("sha256").update(layer.tar).digest("hex")}`);
    expect(layer.digest).toBe(`sha256:${createHash("sha256").update(layer.blob).digest("hex")}`);
  });

  it("gives the same bytes for the same identity and time", async () => {
    const at = new Date("2026-01-01T00:00:00Z");
    expect((await finalLayer(identity, at)).digest).toBe((await finalLayer(identity, at)).digest);
    expect((await finalLayer({ ...identity, version: "r2.2" }, at)).digest).not.toBe((await finalLayer(identity, at)).digest);
  });

  it("writes os-release values escaped and ids reduced to the allowed characters", () => {
    const text = osRelease({ ...identity, flavour: 'Kiosk "A" `b` $c', version: "R2.1+x" });
    expect(text).toContain('VARIANT="Kiosk \\"A\\" \\`b\\` \\$c"');
    expect(text).toContain("VARIANT_ID=kiosk__a___b___c");
    expect(text).toContain("VERSION_ID=r2.1_x");
  });

  it("takes the hostname from the hostname layer, and hosts and resolv.conf from overlay files", () => {
    const layer = hostnameTimezoneLayer({ hostname: "kiosk-1.example.org", timezone: "UTC" });
    const custom = PackageDefinitionSchema.parse({
      category: "layer",
      name: "net",
      version: "1",
      files: [
        { path: "/etc/hosts", mode: "0644", content: "10.0.0.5 printer\n" },
        { path: "/etc/resolv.conf", mode: "0644", content: "nameserver 10.0.0.53\n" },
      ],
    });
    const found = identityFiles([layer, custom]);
    expect(found).toEqual({ hostname: "kiosk-1.example.org", hosts: "10.0.0.5 printer\n", resolvConf: "nameserver 10.0.0.53\n" });
    const hosts = hostsFile(found);
    expect(hosts).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
    expect(hosts).toContain("10.0.0.5 printer");
    expect(hostsFile({ hostname: "kiosk-1.example.org" })).toContain("127.0.1.1\tkiosk-1.example.org kiosk-1");
  });
});
