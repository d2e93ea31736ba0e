// Choosing base packages in the flavour editor: leave one out and save, see the refusal for a package a kept one
// requires, see why an essential package stays; the history shows what a revision leaves out.
import { expect, test, type Page } from "@playwright/test";
import { forkBundledBase, uniqueName } from "./helpers";


const basePackages = (page: Page) => page.getByRole("list", { name: "Base packages of this flavour" });
const row = (page: Page, id: string) => basePackages(page).getByRole("listitem", { name: id, exact: true });

async function openBasePackages(page: Page) {
  if (!(await basePackages(page).isVisible())) await page.getByText("Base packages", { exact: true }).click();
  await expect(basePackages(page)).toBeVisible();
}

test("leave out system/openssh and save: the revision builds without it and the history says so", async ({ page }) => {
  const name = uniqueName("no-ssh");
  const id = await forkBundledBase(page, name);
  await openBasePackages(page);
  await expect(row(page, "system/openssh")).toContainText("openssh");

  await row(page, "system/openssh").getByRole("button", { name: "Leave out system/openssh" }).click();
  await expect(row(page, "system/openssh")).toContainText("left out");
  await expect(page.getByText("Unsaved changes", { exact: true })).toBeVisible();
  const save = page.getByRole("form", { name: "Save revision" });
  await expect(save).toContainText(/from \d+ of \d+ base packages/);
  await save.getByLabel("Revision message (optional)").fill("no ssh on these devices");
  await save.getByRole("button", { name: "Save revision" }).click();
  await expect(save.getByRole("status")).toContainText("Saved revision 2.");

  // After a reload the saved revision still leaves it out, and it can be kept again.
  await page.reload();
  await openBasePackages(page);
  await expect(row(page, "system/openssh")).toContainText("left out");
  await expect(row(page, "system/openssh").getByRole("button", { name: "Keep system/openssh" })).toBeVisible();
  // Its requirement is gone, so system/networking may now be left out too.
  await expect(row(page, "system/networking")).not.toContainText("required by system/openssh");

  const revision = await (await page.request.get(`/api/v1/flavours/${id}/revisions/2`)).json();
  expect(revision.excludedPackages).toEqual(["system/openssh"]);
  expect(revision.packages.map((p: { category: string; name: string }) => `${p.category}/${p.name}`)).not.toContain("system/openssh");

  await page.goto(`/flavours/${id}/history`);
  await expect(page.getByRole("row", { name: /^r2\b/ })).toContainText("system/openssh");
  await page.getByRole("link", { name: "Compare revision 2 with its base" }).click();
  const changes = page.getByRole("region", { name: /Changes from strata-base 1\S* to revision 2/ });
  await expect(changes).toContainText("1 removed");
  await expect(changes).toContainText("left out of the base");
});

test("a package a kept one requires is refused by name, and an essential one says why it stays", async ({ page }) => {
  const id = await forkBundledBase(page, uniqueName("keep-net"));
  await openBasePackages(page);

  // system/openssh is kept and requires system/networking.
  await expect(row(page, "system/networking")).toContainText("required by system/openssh");
  await row(page, "system/networking").getByRole("button", { name: "Leave out system/networking" }).click();
  await expect(row(page, "system/networking").getByRole("alert")).toContainText(
    "system/networking is required by system/openssh; leave that out too or keep system/networking",
  );
  // Nothing changed: it is still kept, and there is nothing to save.
  await expect(row(page, "system/networking").getByRole("button", { name: "Keep system/networking" })).toHaveCount(0);
  await expect(row(page, "system/networking").getByRole("button", { name: "Leave out system/networking" })).toBeVisible();
  await expect(page.getByText("Saved as revision 1", { exact: true })).toBeVisible();

  // Essential packages have no control, only the reason.
  await expect(row(page, "system/kernel")).toContainText("Cannot be left out: Devices boot this kernel");
  await expect(row(page, "system/base")).toContainText("Cannot be left out");
  await expect(row(page, "system/kernel").getByRole("button")).toHaveCount(0);

  // Leaving out the dependent first makes it possible.
  await row(page, "system/openssh").getByRole("button", { name: "Leave out system/openssh" }).click();
  await row(page, "system/networking").getByRole("button", { name: "Leave out system/networking" }).click();
  await expect(row(page, "system/networking")).toContainText("left out");
  await expect(row(page, "system/networking").getByRole("alert")).toHaveCount(0);
  await page.getByRole("button", { name: "Discard changes" }).click();
  await expect(row(page, "system/networking").getByRole("button", { name: "Leave out system/networking" })).toBeVisible();
  await expect(page.getByText("Saved as revision 1", { exact: true })).toBeVisible();

  // The API refuses the same with a 422 naming the dependent, and saves nothing.
  const refused = await page.request.post(`/api/v1/flavours/${id}/revisions`, { data: { excludedPackages: ["system/networking"] } });
  expect(refused.status()).toBe(422);
  expect((await refused.json()).error.message).toContain("system/networking is required by system/openssh");
  const essential = await page.request.post(`/api/v1/flavours/${id}/revisions`, { data: { excludedPackages: ["system/grub"] } });
  expect(essential.status()).toBe(422);
  expect((await essential.json()).error.message).toContain("system/grub cannot be left out: It is the boot loader");
  const revisions = await (await page.request.get(`/api/v1/flavours/${id}/revisions`)).json();
  expect(revisions.revisions).toHaveLength(1);
});
