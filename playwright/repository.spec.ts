// The package repository in the browser against the real worker, dockerd and registry: two builds of one flavour
// publish revisions 1 and 2; find which package ships a path, open that package, download its artefact and check its
// sha256 against the digest the page shows; compare the two revisions.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { buildAndWait, pageAlert, publishTinyBase, type Layer } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-repo-e2e", version: run, description: "One tiny package, for the repository browser tests", step: `echo hello > /etc/hello-${run}` });
});

async function saveLayers(page: Page, flavourId: string, layers: Layer[], message: string) {
  const saved = await page.request.post(`/api/v1/flavours/${flavourId}/revisions`, { data: { layers, message } });
  expect(saved.status(), await saved.text()).toBe(201);
}

test("two builds publish two revisions: find a file, open its package, download and check the artefact, compare", async ({ page }) => {
  test.setTimeout(420_000);
  const tag = unique();
  const toolPath = `/opt/${tag}/tool`;
  const name = `repo-${unique()}`;
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name } });
  expect(created.status(), await created.text()).toBe(201);
  const { id: flavourId } = (await created.json()) as { id: string };
  const greeting: Layer = { category: "layer", name: "greeting", version: "1", requires: ["system/hello"], steps: [`echo ${tag} > /etc/greeting-${tag}`] };
  await saveLayers(page, flavourId, [greeting], "add greeting");

  // Before any build: the repository says what publishes its first revision.
  await page.goto(`/flavours/${flavourId}`);
  await page.getByRole("navigation", { name: "Flavour" }).getByRole("link", { name: "Repository" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Repository of ${name}` })).toBeVisible();
  await expect(page.getByText("No revisions yet.")).toBeVisible();
  await expect(page.getByText(/first successful build publishes revision 1/)).toBeVisible();
  await expect(page.getByRole("link", { name: "Build this flavour" })).toHaveAttribute("href", `/flavours/${flavourId}/builds`);

  // Build 1 publishes revision 1, and its page links to it.
  await buildAndWait(page, flavourId);
  await expect(page.getByRole("link", { name: "Repository revision 1" })).toHaveAttribute("href", `/flavours/${flavourId}/repository/1`);

  // A second layer writes a file in a directory of its own; build 2 publishes revision 2.
  const tool: Layer = {
    category: "layer",
    name: "tool",
    version: "2",
    requires: ["layer/greeting"],
    steps: [`mkdir -p /opt/${tag}`, `printf '#!/bin/sh\\necho ${tag}\\n' > ${toolPath}`, `chmod 0755 ${toolPath}`],
  };
  await saveLayers(page, flavourId, [greeting, tool], "add tool");
  await buildAndWait(page, flavourId);
  await expect(page.getByRole("link", { name: "Repository revision 2" })).toBeVisible();

  // The repository lists both revisions, newest first, each with its build.
  await page.goto(`/flavours/${flavourId}/builds`);
  await page.getByRole("link", { name: "Repository", exact: true }).click();
  const revisions = page.getByRole("table", { name: /Revisions of the repository/ });
  await expect(revisions.getByRole("row", { name: "Revision 2", exact: true })).toBeVisible();
  await expect(revisions.getByRole("row", { name: "Revision 1", exact: true })).toBeVisible();
  await expect(revisions.getByRole("row", { name: "Revision 2", exact: true }).getByRole("link", { name: "Build r3.1" })).toBeVisible();
  await expect(revisions.getByRole("row", { name: "Revision 1", exact: true }).getByRole("link", { name: "Build r2.1" })).toBeVisible();
  // The compare form starts at the previous → the latest revision.
  await expect(page.getByLabel("From", { exact: true })).toHaveValue("1");
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("2");

  // Revision 2: its reference and index digest, three packages, and which package ships the tool.
  await revisions.getByRole("link", { name: "Revision 2", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Repository revision 2" })).toBeVisible();
  await expect(page.getByTestId("revision-reference")).toHaveText(/\S+/);
  await expect(page.getByTestId("index-digest")).toHaveText(/^sha256:[0-9a-f]{64}$/);
  const packages = page.getByRole("region", { name: "Packages", exact: true });
  for (const id of ["system/hello", "layer/greeting", "layer/tool"]) await expect(packages.getByRole("row", { name: id })).toBeVisible();
  // layer/greeting did not change since build 1: reused from the cache; layer/tool is new: built.
  await expect(packages.getByRole("row", { name: "layer/greeting" })).toContainText("cache hit");
  await expect(packages.getByRole("row", { name: "layer/tool" })).toContainText("built");
  await packages.getByLabel("Filter packages").fill("tool");
  await expect(packages.getByRole("row", { name: "layer/greeting" })).toHaveCount(0);
  await expect(packages.getByRole("row", { name: "layer/tool" })).toBeVisible();
  await packages.getByLabel("Filter packages").fill("");

  await page.getByLabel("Find a file by path").fill(toolPath);
  await page.getByRole("button", { name: "Search" }).click();
  const results = page.getByRole("table", { name: `Files whose path contains ${toolPath}` });
  const match = results.getByRole("row").filter({ hasText: toolPath });
  await expect(match).toHaveCount(1);
  await expect(match).toContainText("file");
  await match.getByRole("link", { name: "layer/tool" }).click();

  // The package: the file in its list, with its mode.
  await expect(page.getByRole("heading", { level: 1, name: "layer/tool" })).toBeVisible();
  const files = page.getByRole("region", { name: "Files", exact: true });
  const fileRow = files.getByRole("row").filter({ hasText: toolPath });
  await expect(fileRow).toBeVisible();
  await expect(fileRow).toContainText("0755");
  await expect(files.getByText(/^\d+ of \d+ files?$/)).toBeVisible();
  await files.getByLabel("Filter files").fill(`${tag}/to`);
  await expect(files.getByText(/^1 of 1 files with/)).toBeVisible();
  await expect(fileRow).toBeVisible();

  // Its artefact downloads, and the bytes hash to the digest the page shows.
  const shownHex = ((await page.getByTestId("artefact-sha256").textContent()) ?? "").trim();
  expect(shownHex).toMatch(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId("artefact-digest")).toHaveText(`sha256:${shownHex}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download artefact" }).click()]);
  const bytes = await fs.readFile((await download.path())!);
  expect(bytes.length).toBeGreaterThan(0);
  expect(crypto.createHash("sha256").update(bytes).digest("hex")).toBe(shownHex);

  // Revision 1 → 2: the tool's package was added, with its file; nothing else changed.
  await page.getByRole("link", { name: "Revision 2", exact: true }).click();
  await page.getByRole("link", { name: "Compare with revision 1" }).click();
  await expect(page).toHaveURL(/\/repository\/diff\?from=1&to=2$/);
  await expect(page.getByRole("heading", { level: 1, name: "Revision 1 → 2" })).toBeVisible();
  const added = page.getByRole("region", { name: "Added packages" });
  await expect(added).toContainText("layer/tool");
  await expect(added.getByRole("row").filter({ hasText: toolPath })).toBeVisible();
  await expect(page.getByRole("region", { name: "Removed packages" })).toHaveCount(0);
  await expect(page.getByRole("region", { name: "Changed packages" })).toHaveCount(0);
  await expect(page.getByTestId("size-delta")).toHaveText(/^\+\d/);

  // Wrong numbers say so, with the form to pick again, instead of an error page.
  await page.goto(`/flavours/${flavourId}/repository/diff?from=abc&to=2`);
  await expect(pageAlert(page)).toContainText("“abc” is not a revision number");
  await expect(page.getByRole("button", { name: "Compare" })).toBeVisible();
  await page.goto(`/flavours/${flavourId}/repository/diff?from=1&to=99`);
  await expect(pageAlert(page)).toContainText("No repository revision 99");
  await page.getByLabel("From", { exact: true }).fill("1");
  await page.getByLabel("To", { exact: true }).fill("2");
  await page.getByRole("button", { name: "Compare" }).click();
  await expect(page.getByRole("region", { name: "Added packages" })).toContainText("layer/tool");
});
