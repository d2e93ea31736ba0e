// Lists that grow, as a customer pages them: every build of a flavour reachable with "Older builds", filters kept
// across pages, a stale page link explained, the history listing its revisions once, the flavours search.
// Rows are inserted straight into the test server's database (many builds without running any).
import crypto from "node:crypto";
import pg from "pg";
import { expect, test, type Page } from "@playwright/test";
import { pageAlert, forkBundledBase, uniqueName } from "./helpers";

let db: pg.Pool | undefined;
test.skip(!process.env.DATABASE_URL, "needs the DATABASE_URL of the test server (npx tsx scripts/test.ts browser)");
test.beforeAll(() => {
  db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
});
test.afterAll(async () => {
  await db?.end();
});


/** `count` builds of revision 1, r1.1 the oldest; every third (r1.2, r1.5, …) failed, the others succeeded. */
async function insertBuilds(flavourId: string, count: number) {
  await db!.query(
    `insert into builds (org_id, flavour_id, revision_id, revision_number, version, status, total_packages, done_packages, created_at, finished_at)
     select f.org_id, f.id, r.id, 1, 'r1.' || g, case when g % 3 = 2 then 'failed' else 'succeeded' end, 3, 3,
            now() - interval '1 day' + g * interval '1 minute', now() - interval '1 day' + g * interval '1 minute'
     from flavours f join flavour_revisions r on r.flavour_id = f.id and r.number = 1, generate_series(1, $2::int) g
     where f.id = $1`,
    [flavourId, count],
  );
}

const buildLinks = (page: Page) => page.getByRole("link", { name: /^Build r1\.\d+$/ });

test("every one of 120 builds is reachable with Older builds, filters stay on every page, and a stale link says so", async ({ page }) => {
  const id = await forkBundledBase(page, uniqueName("many-builds"));
  await insertBuilds(id, 120);
  await page.goto(`/flavours/${id}/builds`);
  await expect(buildLinks(page)).toHaveCount(50);
  await expect(page.getByRole("link", { name: "Build r1.120" })).toBeVisible();
  const pages = page.getByRole("navigation", { name: "Pages of builds" });
  await pages.getByRole("link", { name: /Older builds/ }).click();
  await expect(page.getByRole("link", { name: "Build r1.70" })).toBeVisible();
  await expect(buildLinks(page)).toHaveCount(50);
  await pages.getByRole("link", { name: /Older builds/ }).click();
  await expect(buildLinks(page)).toHaveCount(20);
  await expect(page.getByRole("link", { name: "Build r1.1", exact: true })).toBeVisible();
  await expect(pages.getByRole("link", { name: /Older builds/ })).toHaveCount(0);
  await pages.getByRole("link", { name: /Newest builds/ }).click();
  await expect(page.getByRole("link", { name: "Build r1.120" })).toBeVisible();

  // Filters: 40 failed builds, on one page of 50; the version search narrows further.
  const filter = page.getByRole("search", { name: "Filter builds" });
  await filter.getByLabel("Status").selectOption("failed");
  await filter.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(buildLinks(page)).toHaveCount(40);
  await expect(page.getByRole("link", { name: "Build r1.119" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Build r1.120" })).toHaveCount(0);
  await filter.getByLabel("Version contains").fill("r1.11");
  await filter.getByRole("button", { name: "Filter" }).click();
  // r1.11 and r1.110–r1.119, failed: r1.11, r1.110, r1.113, r1.116, r1.119.
  await expect(buildLinks(page)).toHaveCount(5);

  // With a page size the filter spans pages: the Older link keeps the filter.
  await page.goto(`/flavours/${id}/builds?status=succeeded`);
  await expect(buildLinks(page)).toHaveCount(50);
  await expect(page.getByRole("navigation", { name: "Pages of builds" }).getByRole("link", { name: /Older builds/ })).toHaveAttribute("href", /status=succeeded.*cursor=/);

  // Bad values are explained and the list shown, never an error page.
  await page.goto(`/flavours/${id}/builds?cursor=not-a-cursor&status=exploded`);
  await expect(pageAlert(page)).toContainText("That page link is out of date or was changed");
  await expect(pageAlert(page)).toContainText('There is no build status "exploded"');
  await expect(buildLinks(page)).toHaveCount(50);
});

test("the history lists 60 revisions once, 50 to a page, and compares any two by number", async ({ page }) => {
  const id = await forkBundledBase(page, uniqueName("long-history"));
  await db!.query(
    `insert into flavour_revisions (flavour_id, org_id, number, base_manifest_id, layers, excluded_packages, message)
     select r.flavour_id, r.org_id, g, r.base_manifest_id, '[]'::jsonb, '[]'::jsonb, 'save ' || g
     from flavour_revisions r, generate_series(2, 60) g where r.flavour_id = $1 and r.number = 1`,
    [id],
  );
  await page.goto(`/flavours/${id}/history`);
  const revisions = page.getByRole("region", { name: "Revisions" });
  await expect(revisions.getByRole("link", { name: /^Compare revision \d+ with its base$/ })).toHaveCount(50);
  // Listed once: no select of every revision beside the table.
  await expect(page.getByRole("form", { name: "Compare revisions" }).locator("select")).toHaveCount(0);
  await expect(revisions).toContainText("Revisions 60–11 of 60");
  await revisions.getByRole("link", { name: /Older revisions/ }).click();
  await expect(revisions.getByRole("link", { name: /^Compare revision \d+ with its base$/ })).toHaveCount(10);
  await expect(revisions.getByRole("link", { name: "Compare revision 1 with its base" })).toBeVisible();

  await page.getByLabel("From", { exact: true }).fill("3");
  await page.getByLabel("To", { exact: true }).fill("57");
  await page.getByRole("button", { name: "Compare" }).click();
  await expect(page).toHaveURL(/from=3&to=57/);
  await expect(pageAlert(page)).toHaveCount(0);
  // The table stayed on its page.
  await expect(revisions.getByRole("link", { name: "Compare revision 1 with its base" })).toBeVisible();

  await page.goto(`/flavours/${id}/history?from=99&to=57`);
  await expect(pageAlert(page)).toContainText('There is no revision "99" to compare from');
});

test("the flavours list searches by name and keeps the search on the Archived tab", async ({ page }) => {
  const tag = crypto.randomUUID().slice(0, 8);
  await forkBundledBase(page, `findme-${tag}`);
  await page.goto("/flavours");
  const search = page.getByRole("search", { name: "Search flavours" });
  await search.getByLabel("Name contains").fill(`ME-${tag}`);
  await search.getByRole("button", { name: "Search" }).click();
  const table = page.getByRole("region", { name: "Flavours", exact: true }).getByRole("table");
  await expect(table.getByRole("link", { name: `findme-${tag}` })).toBeVisible();
  await expect(table.getByRole("row")).toHaveCount(2);
  await page.getByRole("navigation", { name: "Which flavours" }).getByRole("link", { name: "Archived" }).click();
  await expect(page).toHaveURL(/archived=true.*q=ME-/);
  await expect(page.getByText(`No archived flavour has “ME-${tag}” in its name`)).toBeVisible();
});
