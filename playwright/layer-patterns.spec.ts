// An excludes pattern the builder cannot match in linear time, written in the flavour editor: the message names the
// package, the pattern and why, at the pattern's line, and the layer is not added.
import { expect, test } from "@playwright/test";
import { forkBundledBase, uniqueName } from "./helpers";

test("a custom YAML layer with a backreference in excludes shows why at its line and is not added", async ({ page }) => {
  await forkBundledBase(page, uniqueName("patterns"));

  await page.getByRole("tab", { name: "Custom YAML" }).click();
  const editor = page.getByLabel("Layer definition (YAML)");
  const yaml = (pattern: string) =>
    ["category: layer", "name: greeting", 'version: "1"', "requires: [system/base]", "steps:", "  - echo hi > /etc/greeting", "excludes:", `  - '${pattern}'`, ""].join("\n");
  await editor.fill(yaml("^/tmp/(a)\\1"));
  const problems = page.getByRole("list", { name: "Problems found in the YAML" });
  await expect(problems.getByRole("listitem")).toHaveCount(1);
  await expect(problems.getByRole("listitem")).toContainText("Line 8");
  await expect(problems.getByRole("listitem")).toContainText('layer/greeting: excludes pattern "^/tmp/(a)\\1" is not supported: backreferences');
  await expect(problems.getByRole("listitem")).toContainText("cannot be matched in linear time");
  await expect(editor).toHaveAttribute("aria-invalid", "true");
  await page.getByRole("button", { name: "Add layer" }).click();
  await expect(page.getByText("No layers yet")).toBeVisible();

  // The same layer with a pattern RE2 takes, (a+)+$ included, goes in.
  await editor.fill(yaml("(a+)+$"));
  await expect(problems).toHaveCount(0);
  await page.getByRole("button", { name: "Add layer" }).click();
  await expect(page.getByRole("list", { name: "Layers of this flavour" }).getByRole("listitem", { name: "layer/greeting" })).toBeVisible();
});
