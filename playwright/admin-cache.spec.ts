// The admin area's build cache page: the cache's size on the engine, the last prune, and "Prune now"; customers are
// sent away. The portal's database knows only the cache keys of its own builds, so the prune leaves every other image
// on the shared engine alone.
import { expect, test } from "@playwright/test";
import { adminPage } from "./helpers";

test("the admin sees the build cache's size and prunes it now; a customer cannot open the page", async ({ page, browser }, testInfo) => {
  await page.goto("/admin/cache");
  await expect(page).toHaveURL(/\/forbidden/);

  const admin = await adminPage(browser, testInfo);
  try {
    await admin.goto("/admin");
    await admin.getByRole("link", { name: "Build cache" }).click();
    await expect(admin).toHaveURL(/\/admin\/cache$/);
    const size = admin.getByRole("region", { name: "Size on the engine" });
    await expect(size.getByText("Cache images")).toBeVisible();
    await expect(size.getByText(/^\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)$/)).toBeVisible();

    await admin.getByRole("button", { name: "Prune now" }).click();
    await expect(admin.getByRole("status").filter({ hasText: /Pruned: removed \d+ images? from the engine and \d+ tags? from the registry/ })).toBeVisible({ timeout: 60_000 });
    // The page now shows the run as the last prune.
    const last = admin.getByRole("region", { name: "Last prune" });
    await expect(last.getByText("Removed from the engine", { exact: true })).toBeVisible();
    await expect(last.getByText("Freed", { exact: true })).toBeVisible();
  } finally {
    await admin.context().close();
  }
});
