// Two more lists that grow, paged in the portal: a flavour's repository revisions (one per successful build) and the
// admin's organisations (one per customer), with the organisation search. Rows are inserted straight into the test
// server's database: 60 revisions without 60 builds, 60 organisations without 60 sign-ups.
import crypto from "node:crypto";
import pg from "pg";
import { expect, test } from "@playwright/test";
import { adminPage, pageAlert, forkBundledBase } from "./helpers";

let db: pg.Pool | undefined;
test.skip(!process.env.DATABASE_URL, "needs the DATABASE_URL of the test server (npx tsx scripts/test.ts browser)");
test.beforeAll(() => {
  db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
});
test.afterAll(async () => {
  await db?.end();
});

const tag = () => crypto.randomUUID().slice(0, 8);


/** `count` succeeded builds r1.1 … and the repository revisions 1 … they published (no image or registry behind them). */
async function insertRevisions(flavourId: string, count: number) {
  await db!.query(
    `insert into builds (org_id, flavour_id, revision_id, revision_number, version, status, total_packages, done_packages, created_at, finished_at)
     select f.org_id, f.id, r.id, 1, 'r1.' || g, 'succeeded', 1, 1, now() - interval '1 day' + g * interval '1 minute', now() - interval '1 day' + g * interval '1 minute'
     from flavours f join flavour_revisions r on r.flavour_id = f.id and r.number = 1, generate_series(1, $2::int) g
     where f.id = $1`,
    [flavourId, count],
  );
  await db!.query(
    `insert into repository_revisions (org_id, flavour_id, number, build_id, index, index_digest, reference, manifest_digest, package_count, file_count, size, uncompressed_size, debian_package_count, created_at)
     select b.org_id, b.flavour_id, split_part(b.version, '.', 2)::int, b.id, '{}', 'sha256:' || md5(b.id::text) || md5(b.version),
            'registry.invalid/repo:' || split_part(b.version, '.', 2), 'sha256:' || md5(b.version) || md5(b.id::text), 1, 1, 10, 20, 0, b.finished_at
     from builds b where b.flavour_id = $1`,
    [flavourId],
  );
}

test("the repository lists 60 revisions 50 to a page, and compares by number", async ({ page }) => {
  const id = await forkBundledBase(page, `long-repo-${tag()}`);
  await insertRevisions(id, 60);
  await page.goto(`/flavours/${id}/repository`);
  const card = page.getByRole("region", { name: "Revisions" });
  const rows = card.getByRole("row", { name: /^Revision \d+$/ });
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toHaveAccessibleName("Revision 60");
  await expect(card).toContainText("Revisions 60–11 of 60");
  // Listed once: the compare form takes numbers, not a select of every revision.
  const compare = page.getByRole("form", { name: "Compare revisions" });
  await expect(compare.locator("select")).toHaveCount(0);
  await expect(page.getByLabel("From", { exact: true })).toHaveValue("59");
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("60");

  await card.getByRole("link", { name: /Older revisions/ }).click();
  await expect(rows).toHaveCount(10);
  await expect(card.getByRole("row", { name: "Revision 1", exact: true })).toBeVisible();
  await expect(card).toContainText("Revisions 10–1 of 60");
  await expect(card.getByRole("link", { name: /Older revisions/ })).toHaveCount(0);
  // The compare form still starts at the newest two, whichever page the table is on.
  await expect(page.getByLabel("From", { exact: true })).toHaveValue("59");
  await expect(page.getByLabel("To", { exact: true })).toHaveValue("60");
  await card.getByRole("link", { name: /Newest revisions/ }).click();
  await expect(rows.first()).toHaveAccessibleName("Revision 60");

  // An edited page link says so and shows the first page, not an error page.
  await page.goto(`/flavours/${id}/repository?cursor=not-a-cursor`);
  await expect(pageAlert(page)).toContainText("That page link is out of date");
  await expect(rows).toHaveCount(50);
});

test("the admin pages through the organisations and finds one by name or slug", async ({ browser }, testInfo) => {
  const t = tag();
  await db!.query(`insert into orgs (name, slug) select 'Paged ${t} ' || lpad(g::text, 2, '0'), 'paged-${t}-' || lpad(g::text, 2, '0') from generate_series(1, 60) g`);
  const admin = await adminPage(browser, testInfo);
  try {
    await admin.goto("/admin");
    const card = admin.getByRole("region", { name: "Organisations" });
    const search = card.getByRole("search", { name: "Search organisations" });
    await search.getByLabel("Name or slug contains").fill(`PAGED ${t.toUpperCase()}`);
    await search.getByRole("button", { name: "Search" }).click();
    await expect(admin).toHaveURL(new RegExp(`/admin\\?q=PAGED`));
    const paged = card.getByRole("row").filter({ hasText: `Paged ${t}` });
    await expect(paged).toHaveCount(50);
    await expect(paged.first()).toContainText(`paged-${t}-01`);
    await card.getByRole("link", { name: /More organisations/ }).click();
    // The search is kept on the next page: only its matches.
    await expect(admin).toHaveURL(/q=PAGED.*cursor=/);
    await expect(card.locator("tbody tr")).toHaveCount(10);
    await expect(paged).toHaveCount(10);
    await expect(paged.last()).toContainText(`paged-${t}-60`);
    await expect(card.getByRole("link", { name: /More organisations/ })).toHaveCount(0);

    await search.getByLabel("Name or slug contains").fill(`paged-${t}-42`);
    await search.getByRole("button", { name: "Search" }).click();
    await expect(paged).toHaveCount(1);
    await expect(paged).toContainText(`Paged ${t} 42`);

    await admin.goto(`/admin?q=nothing-${t}`);
    await expect(card).toContainText(`No organisation has “nothing-${t}” in its name or slug`);
    await admin.goto("/admin?cursor=garbage");
    await expect(pageAlert(admin)).toContainText("That page link is out of date");
  } finally {
    await admin.context().close();
    await db!.query(`delete from orgs where slug like $1`, [`paged-${t}-%`]);
  }
});
