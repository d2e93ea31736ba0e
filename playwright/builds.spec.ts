// Builds in the browser against the real worker, dockerd and registry: a tiny base manifest (strata-base would build
// a kernel), one layer, live status, progress and log that survive a reload, each package's artefact as soon as it is
// done, the version's name explained, the published image; a failing step and Retry; Cancel.
import crypto from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { publishTinyBase, type Layer } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-e2e", version: run, description: "One tiny package, for the browser tests", step: `echo hello > /etc/hello-${run}` });
});

/** As the customer, through the API: fork the tiny base and save one revision with `layer` on top. */
async function flavourWith(page: Page, tag: string, layer: Layer): Promise<{ id: string; name: string }> {
  const name = `${tag}-${unique()}`;
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const saved = await page.request.post(`/api/v1/flavours/${id}/revisions`, { data: { layers: [layer], message: `add ${layer.name}` } });
  expect(saved.status(), await saved.text()).toBe(201);
  return { id, name };
}

const status = (page: Page) => page.getByTestId("build-status");
const buildLog = (page: Page) => page.getByRole("log", { name: "Build log" });
const BUILD_URL = /\/builds\/[0-9a-f-]{36}$/;

test("build a small flavour: live status, progress and log, a reload, and the published image", async ({ page, context }) => {
  test.setTimeout(180_000);
  const tag = unique();
  const flavour = await flavourWith(page, "tiny", {
    category: "layer",
    name: "greeting",
    version: "1",
    requires: ["system/hello"],
    // The sleep keeps the layer running long enough to see the base package's artefact before the build ends.
    steps: [`for i in 1 2 3; do echo "greeting line $i ${tag}"; done`, "sleep 5", `echo ${tag} > /etc/greeting`],
  });

  await page.goto(`/flavours/${flavour.id}/builds`);
  await expect(page.getByRole("heading", { level: 1, name: `Builds of ${flavour.name}` })).toBeVisible();
  await expect(page.getByText("No builds yet.")).toBeVisible();
  await page.getByRole("button", { name: "Build", exact: true }).click();
  await expect(page).toHaveURL(BUILD_URL);
  const heading = page.getByRole("heading", { level: 1, name: "Build r2.1" });
  await expect(heading).toBeVisible();
  // The version's name is explained where it is shown.
  await expect(heading).toHaveAccessibleDescription("revision 2, build 1");
  await expect(page.getByTitle("revision 2, build 1")).toHaveText("r2.1");

  // Live: running, the layer's output in the log, labelled with its package.
  await expect(status(page)).toHaveText("Running", { timeout: 90_000 });
  await expect(page.getByRole("button", { name: "Cancel build" })).toBeVisible();
  const line = buildLog(page).getByText(`greeting line 2 ${tag}`);
  await expect(line).toBeVisible({ timeout: 60_000 });
  await expect(buildLog(page).locator("div", { hasText: `greeting line 2 ${tag}` }).last()).toContainText("layer/greeting");

  // The base package is done before the layer starts: its artefact shows while the layer is still running, not only at the end.
  const helloRow = page.getByRole("row", { name: "system/hello" });
  await expect(helloRow).toContainText(/sha256:[0-9a-f]{12}/);
  await expect(helloRow.getByRole("button", { name: /Show the \d+ files? of system\/hello/ })).toBeVisible();
  await expect(page.getByRole("row", { name: "layer/greeting" })).toContainText("running");

  // A reload (likely still running) shows the log so far again and keeps following.
  await page.reload();
  await expect(buildLog(page)).toContainText(`greeting line 1 ${tag}`);
  await expect(buildLog(page)).toContainText(`greeting line 3 ${tag}`);

  await expect(status(page)).toHaveText("Succeeded", { timeout: 120_000 });
  const progress = page.getByRole("progressbar", { name: "Build progress" });
  await expect(progress).toHaveAttribute("aria-valuemax", "100");
  await expect(progress).toHaveAttribute("aria-valuenow", "100");
  await expect(progress).toHaveAttribute("aria-valuetext", /2 of 2 packages/);
  // Nothing is left to estimate once the build is done.
  await expect(page.getByText(/^(about .+|less than a minute|a few seconds) left$/)).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Cancel build" })).toHaveCount(0);

  // The image: tag and digest references, each with a Copy button that really copies.
  await expect(page.getByTestId("image-ref")).toHaveText(new RegExp(`/${flavour.name}:r2\\.1$`));
  const digestRef = page.getByTestId("image-digest-ref");
  await expect(digestRef).toHaveText(new RegExp(`/${flavour.name}@sha256:[0-9a-f]{64}$`));
  await expect(page.getByTestId("image-size")).toHaveText(/\d+(\.\d)? (B|KiB|MiB|GiB)/);
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByRole("button", { name: "Copy digest reference" }).click();
  await expect(page.getByRole("button", { name: "Copy digest reference" })).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await digestRef.textContent());
  await expect(page.getByRole("button", { name: "Copy image reference" })).toBeVisible();

  // The package table: every package with its artefact's size and file count; the layer built, with the file it wrote.
  for (const id of ["system/hello", "layer/greeting"]) {
    const row = page.getByRole("row", { name: id });
    await expect(row).toContainText(/sha256:[0-9a-f]{12}/);
    await expect(row).toContainText(/\d+(\.\d)? (B|KiB|MiB|GiB)/);
    await expect(row).toContainText(/\d+ files?/);
  }
  const layerRow = page.getByRole("row", { name: "layer/greeting" });
  await expect(layerRow).toContainText("layer");
  await expect(layerRow).toContainText("built");
  await layerRow.getByRole("button", { name: /Show the \d+ files? of layer\/greeting/ }).click();
  await expect(page.getByRole("table", { name: /Files of artefact/ })).toContainText("/etc/greeting");

  // After the build, a reload still shows the whole log and the result.
  await page.reload();
  await expect(status(page)).toHaveText("Succeeded");
  await expect(buildLog(page)).toContainText(`greeting line 3 ${tag}`);
  await expect(buildLog(page)).toContainText("published");

  // The flavour's builds list links to it.
  await page.goto(`/flavours/${flavour.id}/builds`);
  const row = page.getByRole("row", { name: /r2\.1/ });
  await expect(row).toContainText("Succeeded");
  await expect(row.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "2");
  const link = row.getByRole("link", { name: "Build r2.1" });
  await expect(link).toHaveAccessibleDescription("revision 2, build 1");
  await expect(row).toContainText("revision 2, build 1");
  await link.click();
  await expect(page).toHaveURL(BUILD_URL);
});

test("a failing step shows failed with the step's output, and Retry starts a new build", async ({ page }) => {
  test.setTimeout(180_000);
  const tag = unique();
  const flavour = await flavourWith(page, "broken", {
    category: "layer",
    name: "broken",
    version: "1",
    steps: [`echo "checking the widget ${tag}"; echo "widget not found: ${tag}" >&2; exit 3`],
  });
  await page.goto(`/flavours/${flavour.id}/builds`);
  await page.getByRole("button", { name: "Build", exact: true }).click();
  await expect(page).toHaveURL(BUILD_URL);
  const firstUrl = page.url();

  await expect(status(page)).toHaveText("Failed", { timeout: 120_000 });
  const error = page.getByTestId("build-error");
  await expect(error).toContainText("layer/broken: step 1 failed with exit code 3");
  await expect(error).toContainText(`widget not found: ${tag}`);
  // The output keeps its line breaks.
  expect(await error.innerText()).toMatch(new RegExp(`exit code 3\\n(.*\\n)*.*checking the widget ${tag}`));
  await expect(page.getByRole("row", { name: "layer/broken" })).toContainText("failed");
  // The base package was built by the other test (or an earlier run): reused from the cache.
  await expect(page.getByRole("row", { name: "system/hello" })).toContainText("cached");
  await expect(buildLog(page)).toContainText(`widget not found: ${tag}`);

  await page.getByRole("button", { name: "Retry build" }).click();
  await expect(page).not.toHaveURL(firstUrl);
  await expect(page).toHaveURL(BUILD_URL);
  await expect(page.getByRole("heading", { level: 1, name: "Build r2.2" })).toHaveAccessibleDescription("revision 2, build 2");
  await expect(page.getByRole("link", { name: "an earlier build" })).toHaveAttribute("href", new URL(firstUrl).pathname);
  await expect(status(page)).toHaveText("Failed", { timeout: 120_000 });
});

test("the log follows new output unless the reader scrolled up; Cancel stops a running build", async ({ page }) => {
  test.setTimeout(180_000);
  const tag = unique();
  const flavour = await flavourWith(page, "slow", {
    category: "layer",
    name: "slow",
    version: "1",
    steps: [`echo "sleeping ${tag}"; seq 1 200 | sed 's/^/tick /'; sleep 3; seq 201 400 | sed 's/^/tick /'; sleep 120`],
  });
  await page.goto(`/flavours/${flavour.id}/builds`);
  await page.getByRole("button", { name: "Build", exact: true }).click();
  await expect(page).toHaveURL(BUILD_URL);
  const log = buildLog(page);
  const atBottom = () => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 24);

  // It follows: the newest line is in view.
  await expect(log).toContainText("tick 200", { timeout: 90_000 });
  await expect.poll(atBottom).toBe(true);
  // Scrolled up, the reader stays where they are while lines arrive, and can jump back.
  await log.evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event("scroll"));
  });
  await expect(log).toContainText("tick 400", { timeout: 30_000 });
  expect(await log.evaluate((el) => el.scrollTop)).toBe(0);
  await page.getByRole("button", { name: "Follow the log" }).click();
  await expect.poll(atBottom).toBe(true);

  await page.getByRole("button", { name: "Cancel build" }).click();
  await expect(status(page)).toHaveText("Cancelled", { timeout: 60_000 });
  await expect(page.getByRole("row", { name: "layer/slow" })).toContainText("cancelled");
  await expect(page.getByRole("button", { name: "Retry build" })).toBeVisible();
});
