// Importing an image made by hand, in the browser against the real worker and registry: a succeeded build's image gets
// one more layer, pushed as `docker commit` + `docker push` would (a layer that writes /etc/motd, adds
// /usr/local/bin/hello and deletes a file of the build); the builds page checks and imports it, and the imported
// build's page shows where it came from and what it changes against its parent build.
import crypto from "node:crypto";
import zlib from "node:zlib";
import { expect, test } from "@playwright/test";
import tar from "tar-stream";
import { adminPage, buildAndWait, pageAlert, publishTinyBase } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
const sha256 = (bytes: Buffer) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`;
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-import-e2e", version: run, description: "One tiny package, for the import tests", step: `echo hello > /etc/hello-${run}` });
});

/** A layer tar as docker commit writes it: the changed files, and a whiteout for the deleted one. */
async function handLayer(deleted: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  const mtime = new Date();
  pack.entry({ name: "etc/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "etc/motd", mode: 0o644, mtime }, "made by hand\n");
  pack.entry({ name: `etc/.wh.${deleted}`, mode: 0o644, mtime }, "");
  pack.entry({ name: "usr/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "usr/local/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "usr/local/bin/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "usr/local/bin/hello", mode: 0o755, mtime }, "#!/bin/sh\necho hello\n");
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Pushes `<build image> + one layer` to `<repo>:<tag>` over the distribution API, as docker push would. */
async function pushHandMade(imageRef: string, digest: string, tag: string, deleted: string) {
  const host = imageRef.split("/")[0];
  const repo = imageRef.slice(host.length + 1).replace(/:[^/]*$/, "");
  const api = `http://${host}/v2/${repo}`;
  const accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";
  const manifestRes = await fetch(`${api}/manifests/${digest}`, { headers: { accept } });
  expect(manifestRes.status).toBe(200);
  const mediaType = manifestRes.headers.get("content-type")!.split(";")[0];
  const manifest = (await manifestRes.json()) as { config: { mediaType: string; digest: string; size: number }; layers: Array<{ mediaType: string; digest: string; size: number }> };
  const config = (await (await fetch(`${api}/blobs/${manifest.config.digest}`)).json()) as { rootfs: { diff_ids: string[] }; history?: unknown[] };

  const layerTar = await handLayer(deleted);
  const layerGz = zlib.gzipSync(layerTar);
  config.rootfs.diff_ids.push(sha256(layerTar));
  config.history = [...(config.history ?? []), { created: new Date().toISOString(), created_by: "/bin/sh -c echo made by hand > /etc/motd" }];
  const configBytes = Buffer.from(JSON.stringify(config));
  const upload = async (bytes: Buffer) => {
    const started = await fetch(`${api}/blobs/uploads/`, { method: "POST" });
    expect(started.status).toBe(202);
    const location = new URL(started.headers.get("location")!, `http://${host}`);
    location.searchParams.set("digest", sha256(bytes));
    const put = await fetch(location, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(bytes) });
    expect(put.status).toBe(201);
  };
  await upload(layerGz);
  await upload(configBytes);
  const layerType = mediaType.includes("oci") ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  const handManifest = {
    ...manifest,
    config: { ...manifest.config, digest: sha256(configBytes), size: configBytes.length },
    layers: [...manifest.layers, { mediaType: layerType, digest: sha256(layerGz), size: layerGz.length }],
  };
  const put = await fetch(`${api}/manifests/${tag}`, { method: "PUT", headers: { "content-type": mediaType }, body: JSON.stringify(handManifest) });
  expect(put.status).toBe(201);
  return `${host}/${repo}:${tag}`;
}

test("import an image made by hand: check it, import it, see what it changes against its build, release it and make a disk image of it", async ({ page, browser }, testInfo) => {
  test.setTimeout(600_000);
  const tag = unique();
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name: `imp-${tag}` } });
  expect(created.status(), await created.text()).toBe(201);
  const { id: flavourId } = (await created.json()) as { id: string };
  const layer = { category: "layer", name: "tool", version: "1", requires: ["system/hello"], steps: [`echo ${tag} > /opt/tool`] };
  const saved = await page.request.post(`/api/v1/flavours/${flavourId}/revisions`, { data: { layers: [layer], message: "add tool" } });
  expect(saved.status(), await saved.text()).toBe(201);

  await buildAndWait(page, flavourId);
  const parentId = page.url().split("/").pop()!;
  const parent = (await (await page.request.get(`/api/v1/builds/${parentId}`)).json()) as { version: string; imageRef: string; imageDigest: string };
  const reference = await pushHandMade(parent.imageRef, parent.imageDigest, "hand", `hello-${run}`);

  await page.goto(`/flavours/${flavourId}/builds`);
  const form = page.getByRole("form", { name: "Import an image" });
  const field = form.getByLabel("Image reference");

  // A reference without a registry host: the reason, readably, and nothing to import.
  await field.fill("just-a-name");
  await form.getByRole("button", { name: "Check image" }).click();
  await expect(pageAlert(page)).toContainText("names no registry host");
  await expect(page.getByRole("button", { name: /^Import as/ })).toHaveCount(0);

  // The hand-made image: what it is made from, what it would become, and the layer's command.
  await field.fill(reference);
  await form.getByRole("button", { name: "Check image" }).click();
  const plan = page.getByRole("region", { name: "What the import brings in" });
  await expect(plan.getByTestId("import-version")).toHaveText(`${parent.version}-import.1`);
  await expect(plan.getByRole("link", { name: parent.version })).toBeVisible();
  await expect(plan.getByText("echo made by hand > /etc/motd")).toBeVisible();
  await page.getByRole("button", { name: `Import as ${parent.version}-import.1` }).click();

  // The imported build's page: succeeded, where it came from, and its diff against the parent build.
  await expect(page).toHaveURL(/\/builds\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("build-status")).toHaveText("Succeeded");
  await expect(page.getByTestId("import-origin")).toContainText(`from build ${parent.version}`);
  await expect(page.getByTestId("import-origin")).toContainText(`${reference}@sha256:`);
  await expect(page.getByRole("row", { name: "added /usr/local/bin/hello" })).toBeVisible();
  await expect(page.getByRole("row", { name: `removed /etc/hello-${run}` })).toBeVisible();
  await expect(page.getByRole("row", { name: /^(added|changed) \/etc\/motd$/ })).toBeVisible();
  await page.getByRole("button", { name: /^Removed 1$/ }).click();
  await expect(page.getByRole("row", { name: "added /usr/local/bin/hello" })).toHaveCount(0);
  await expect(page.getByRole("row", { name: `removed /etc/hello-${run}` })).toBeVisible();

  const importedPage = page.url();

  // Released like any build; the admin's queue says it was made by hand and where it came from.
  const release = page.getByRole("form", { name: "Release this build" });
  await release.getByLabel("Channel").selectOption({ label: "stable" });
  await release.getByLabel("Version").fill("0.1.0");
  await release.getByRole("button", { name: "Request release" }).click();
  await expect(page.getByText(/Requested 0\.1\.0 on stable/)).toBeVisible();
  const admin = await adminPage(browser, testInfo);
  try {
    await admin.goto("/admin/releases");
    const request = admin.getByRole("article", { name: `Release 0.1.0 of imp-${tag}/stable` });
    await expect(request.getByTestId("made-by-hand")).toContainText(`${reference}@sha256:`);
    await request.getByLabel("Rollout percentage").fill("100");
    await request.getByRole("button", { name: "Approve" }).click();
    await expect(request).toBeHidden();
  } finally {
    await admin.context().close();
  }

  // A disk image of it: the worker pulls the imported image by digest (its last layer was built by no worker) and
  // copies its root filesystem into the disk tools; the tiny e2e base has no kernel, which make-disk says.
  await page.goto(importedPage);
  const disk = page.getByRole("form", { name: "Make a disk image" });
  await disk.getByRole("button", { name: "Make disk image" }).click();
  const image = page.getByTestId("disk-image").first();
  await expect(image.getByTestId("disk-image-status")).toHaveText("Failed", { timeout: 300_000 });
  await expect(image.getByTestId("disk-image-error")).toContainText("this image has no kernel");
  await expect(image.getByRole("log", { name: "Disk image log" })).toContainText(/pulling .*@sha256:/);

  // The builds list marks it as made by hand.
  await page.goto(`/flavours/${flavourId}/builds`);
  await expect(page.getByRole("row").filter({ hasText: `${parent.version}-import.1` })).toContainText("imported, made by hand");
});
