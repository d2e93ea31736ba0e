// Building from scratch in the browser, against the real worker, dockerd and registry: the "Build from scratch" choice
// beside Build, the build page saying so and which packages' artefacts changed; the flavour's schedule setting.
import crypto from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { buildAndWait, publishTinyBase, type Layer } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "scratch-e2e", version: run, description: "One tiny package, for the from-scratch tests", step: `echo hello > /etc/hello-${run}` });
});

async function flavourWith(page: Page, layers: Layer[]): Promise<{ id: string; name: string }> {
  const name = `scratch-${unique()}`;
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  if (layers.length) {
    const saved = await page.request.post(`/api/v1/flavours/${id}/revisions`, { data: { layers, message: "layers" } });
    expect(saved.status(), await saved.text()).toBe(201);
  }
  return { id, name };
}

test("build from scratch: every package built again, and the page says which artefacts changed", async ({ page }) => {
  test.setTimeout(300_000);
  const flavour = await flavourWith(page, [
    { category: "layer", name: "fixed", version: "1", steps: [`echo fixed ${run} > /etc/fixed`] },
    { category: "layer", name: "clock", version: "1", steps: [`date +%s%N > /etc/stamp`, `echo ${run} > /etc/clock-marker`] },
  ]);
  await buildAndWait(page, flavour.id);
  await expect(page.getByTestId("build-from-scratch")).toHaveCount(0);

  await page.goto(`/flavours/${flavour.id}/builds`);
  const choice = page.getByRole("button", { name: "Build from scratch…" });
  await choice.click();
  await expect(choice).toHaveAttribute("aria-expanded", "true");
  const confirm = page.getByRole("group", { name: "Build from scratch" });
  await expect(confirm).toContainText("without the cache");
  // Cancel closes it and starts nothing.
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toBeHidden();
  await choice.click();
  await page.getByRole("button", { name: "Yes, build from scratch" }).click();

  await expect(page).toHaveURL(/\/builds\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1, name: "Build r2.2" })).toBeVisible();
  await expect(page.getByTestId("build-from-scratch")).toHaveText("built from scratch");
  await expect(page.getByTestId("build-status")).toHaveText("Succeeded", { timeout: 150_000 });

  // Every package was built, none came from the cache.
  for (const id of ["system/hello", "layer/fixed", "layer/clock"]) {
    const row = page.getByRole("row", { name: id });
    await expect(row).toContainText("built");
    await expect(row.getByText("cached", { exact: true })).toHaveCount(0);
  }
  await expect(page.getByRole("row", { name: "system/hello" })).toContainText("unchanged");
  await expect(page.getByRole("row", { name: "layer/fixed" })).toContainText("unchanged");
  const clock = page.getByRole("row", { name: "layer/clock" });
  await clock.getByText("1 file changed").click();
  await expect(clock.getByRole("list", { name: "Changed paths of layer/clock" })).toContainText("/etc/stamp");
  await expect(page.getByTestId("scratch-summary")).toContainText("1 of 3 compared packages changed: layer/clock.");
});

test("the from-scratch schedule: refused values say why, a valid one says when the next rebuild is due, empty turns it off", async ({ page }) => {
  const flavour = await flavourWith(page, []);
  await page.goto(`/flavours/${flavour.id}`);
  const form = page.getByRole("form", { name: "From-scratch schedule" });
  const days = form.getByLabel("Rebuild from scratch every (days)");
  const state = page.getByTestId("scratch-schedule-status");
  await expect(state).toContainText("Off");

  await days.fill("91");
  await form.getByRole("button", { name: "Save schedule" }).click();
  await expect(form.getByText("scratchRebuildDays must be at most 90")).toBeVisible();
  await expect(state).toContainText("Off");

  await days.fill("7");
  await form.getByRole("button", { name: "Save schedule" }).click();
  await expect(page.getByText("Saved: from scratch every 7 days.")).toBeVisible();
  const due = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  await expect(state).toContainText(`Every 7 days; the next one is due ${due}`);
  await page.reload();
  await expect(days).toHaveValue("7");

  await days.fill("");
  await form.getByRole("button", { name: "Save schedule" }).click();
  await expect(page.getByText("Turned the from-scratch schedule off.")).toBeVisible();
  await expect(state).toContainText("Off");
});
