// Flavours in the browser: fork, add layers three ways, save revisions, compare them; and the messages of bad input.
import fs from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { signInInBrowser, forkBundledBase, uniqueName } from "./helpers";


const fork = (page: Page, name: string) => forkBundledBase(page, name, { description: "Made by a Playwright test" });

const layers = (page: Page) => page.getByRole("list", { name: "Layers of this flavour" });

test("fork, add a Debian-packages layer and an overlay file, save, and see the diff in the history", async ({ page }) => {
  const name = uniqueName("kiosk");
  await page.goto("/dashboard");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Flavours" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Flavours" })).toBeVisible();
  await fork(page, name);
  await expect(page.getByText("No layers yet")).toBeVisible();

  // (1) From the catalog: Debian packages by name.
  await page.getByRole("tab", { name: "From the catalog" }).click();
  await page.getByRole("radio", { name: "Extra Debian packages" }).check();
  const apt = page.getByRole("form", { name: "Extra Debian packages" });
  await apt.getByLabel("Debian packages").fill("htop");
  await apt.getByRole("button", { name: "Add layer" }).click();
  const htop = layers(page).getByRole("listitem", { name: "layer/apt-htop" });
  await expect(htop).toBeVisible();
  await expect(htop).toContainText("system/base");

  // (3) Overlay files edited in the browser.
  await page.getByRole("tab", { name: "Overlay files" }).click();
  const files = page.getByRole("form", { name: "Overlay files" });
  await files.getByLabel("Path").fill("/etc/motd");
  await files.getByLabel("Content").fill("Welcome to Strata\n");
  await files.getByRole("button", { name: "Add layer" }).click();
  const motd = layers(page).getByRole("listitem", { name: "layer/files" });
  await expect(motd).toContainText("/etc/motd");

  // Reorder locally: the overlay moves above the packages and back.
  await motd.getByRole("button", { name: "Move up" }).click();
  await expect(layers(page).getByRole("listitem").first()).toHaveAccessibleName("layer/files");
  await motd.getByRole("button", { name: "Move down" }).click();
  await expect(layers(page).getByRole("listitem").first()).toHaveAccessibleName("layer/apt-htop");

  const save = page.getByRole("form", { name: "Save revision" });
  await save.getByLabel("Revision message (optional)").fill("Add htop and a message of the day");
  await save.getByRole("button", { name: "Save revision" }).click();
  await expect(save.getByRole("status")).toContainText("Saved revision 2.");
  await expect(page.getByTestId("latest-revision")).toContainText("r2");

  // Edit the overlay file's content: revision 3 changes one definition.
  await motd.getByRole("button", { name: "Files" }).click();
  await page.getByRole("form", { name: "Files of layer/files" }).getByLabel("Content").fill("Welcome to Strata, kiosk edition\n");
  await page.getByRole("button", { name: "Update files" }).click();
  await expect(motd).toContainText("edited");
  await save.getByLabel("Revision message (optional)").fill("Reword the motd");
  await save.getByRole("button", { name: "Save revision" }).click();
  await expect(save.getByRole("status")).toContainText("Saved revision 3.");

  await page.getByRole("navigation", { name: "Flavour" }).getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `History of ${name}` })).toBeVisible();
  const revisions = page.getByRole("region", { name: "Revisions" });
  await expect(revisions.getByRole("row", { name: /r2 Add htop and a message of the day/ })).toBeVisible();

  // Default comparison: revision 3 against 2 — the overlay changed, with a line diff.
  const changed = page.getByRole("region", { name: "Changed packages" });
  await expect(changed).toContainText("layer/files");
  const lines = changed.getByRole("group", { name: "Line diff of layer/files" });
  await expect(lines.getByRole("deletion")).toContainText("Welcome to Strata");
  await expect(lines.getByRole("insertion")).toContainText("Welcome to Strata, kiosk edition");

  // Revision 2 against 1: both layers added, their definitions shown as added lines.
  // Revision numbers typed in: the history lists its revisions once, in the paged table, not again in two selects.
  await page.getByLabel("From", { exact: true }).fill("1");
  await page.getByLabel("To", { exact: true }).fill("2");
  await page.getByRole("button", { name: "Compare" }).click();
  const added = page.getByRole("region", { name: "Added packages" });
  await expect(added).toContainText("layer/apt-htop");
  await expect(added).toContainText("layer/files");
  await expect(added.getByRole("group", { name: "Definition of layer/apt-htop (added)" }).getByRole("insertion").filter({ hasText: "apt-get install" })).toContainText("htop");
  await expect(page.getByRole("region", { name: "Removed packages" })).toHaveCount(0);

  // And revision 3 against its base.
  await page.getByRole("link", { name: "Compare revision 3 with its base" }).click();
  await expect(page.getByRole("region", { name: /Changes from strata-base/ })).toContainText("2 added");
});

test("export a revision as YAML and import it back as a new flavour", async ({ page }) => {
  const name = uniqueName("export");
  await fork(page, name);
  await page.getByRole("radio", { name: "Hostname and timezone" }).check();
  const form = page.getByRole("form", { name: "Hostname and timezone" });
  await form.getByLabel("Hostname").fill("kiosk-01");
  await form.getByLabel("Timezone").fill("Europe/Berlin");
  await form.getByRole("button", { name: "Add layer" }).click();
  await expect(layers(page).getByRole("listitem", { name: "layer/hostname" })).toBeVisible();
  await page.getByRole("button", { name: "Save revision" }).click();
  await expect(page.getByRole("form", { name: "Save revision" }).getByRole("status")).toContainText("Saved revision 2.");
  await expect(page.getByTestId("latest-revision")).toContainText("r2");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export YAML" }).click()]);
  expect(download.suggestedFilename()).toBe(`${name}-r2.yaml`);
  const yaml = fs.readFileSync((await download.path())!, "utf8");
  expect(yaml).toContain("kind: strata/flavour");

  await page.goto("/flavours");
  const importForm = page.getByRole("form", { name: "Import a flavour" });
  await importForm.getByLabel("Choose a .yaml or .tar file").setInputFiles({ name: `${name}-r2.yaml`, mimeType: "application/yaml", buffer: Buffer.from(yaml) });
  await expect(importForm.getByLabel("Flavour YAML")).toHaveValue(/kind: strata\/flavour/);
  await importForm.getByLabel("New name (optional)").fill(`${name}-copy`);
  await importForm.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `${name}-copy` })).toBeVisible();
  await expect(layers(page).getByRole("listitem", { name: "layer/hostname" })).toContainText("Hostname kiosk-01, timezone Europe/Berlin");
});

test("rename, archive and restore a flavour", async ({ page }) => {
  const name = uniqueName("rename");
  await fork(page, name);
  const repository = page.getByTestId("image-repository");
  await expect(repository).toHaveText(new RegExp(`/${name}$`));
  const details = page.getByRole("form", { name: "Flavour details" });
  await details.getByLabel("Name").fill(`${name}-2`);
  await details.getByRole("button", { name: "Save details" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `${name}-2` })).toBeVisible();
  // The images stay where they are: the repository keeps the name the flavour was made with.
  await expect(repository).toHaveText(new RegExp(`/${name}$`));

  await page.getByRole("button", { name: "Archive flavour" }).click();
  await page.getByRole("button", { name: "Yes, archive" }).click();
  await expect(page.getByText("This flavour is archived")).toBeVisible();
  await page.goto("/flavours");
  await expect(page.getByRole("link", { name: `${name}-2`, exact: true })).toHaveCount(0);
  await page.getByRole("link", { name: "Archived" }).click();
  await page.getByRole("link", { name: `${name}-2`, exact: true }).click();
  await page.getByRole("button", { name: "Restore flavour" }).click();
  await expect(page.getByRole("button", { name: "Archive flavour" })).toBeVisible();
  await expect(page.getByRole("tab", { name: "Custom YAML" })).toBeVisible();
});

test("the base manifest shows its packages in order and the requires graph", async ({ page }) => {
  await page.goto("/base-manifests");
  await page.getByRole("region", { name: "Versions" }).getByRole("link", { name: /strata-base 1/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: "strata-base 1" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Requires graph" }).getByRole("img", { name: /Requires graph/ })).toBeVisible();
  const openssh = page.getByRole("article", { name: "system/openssh" });
  await expect(openssh).toContainText("system/networking");
  await openssh.getByText(/^Steps/).click();
  await expect(openssh).toContainText("apt-get");
  await expect(page.getByRole("link", { name: "Download YAML" })).toHaveAttribute("href", /format=yaml/);
});

test.describe("bad input gets readable messages", () => {
  test("an invalid flavour name", async ({ page }) => {
    await page.goto("/flavours");
    const form = page.getByRole("form", { name: "Fork base manifest" });
    await form.getByLabel("Flavour name").fill("My Kiosk!");
    await form.getByRole("button", { name: "Fork" }).click();
    await expect(form.getByRole("alert")).toContainText("name may only contain a-z, 0-9 and '-'");
    await expect(page).toHaveURL(/\/flavours$/);
  });

  test("a new flavour with a renamed flavour's old name is refused, naming the flavour its images belong to", async ({ page }) => {
    const name = uniqueName("taken");
    await fork(page, name);
    const details = page.getByRole("form", { name: "Flavour details" });
    await details.getByLabel("Name").fill(`${name}-b`);
    await details.getByRole("button", { name: "Save details" }).click();
    await expect(page.getByRole("heading", { level: 1, name: `${name}-b` })).toBeVisible();

    await page.goto("/flavours");
    const form = page.getByRole("form", { name: "Fork base manifest" });
    const bundled = await form.getByRole("option", { name: /^strata-base 1\b/ }).textContent();
    await form.getByLabel("Base manifest version").selectOption({ label: bundled! });
    await form.getByLabel("Flavour name").fill(name);
    await form.getByRole("button", { name: "Fork" }).click();
    await expect(form.getByRole("alert")).toContainText(`belongs to the flavour "${name}-b"`);
    await expect(form.getByRole("alert")).toContainText("choose another name");
    await expect(page).toHaveURL(/\/flavours$/);
  });

  test("a custom YAML layer with an unknown field shows the error at its line", async ({ page }) => {
    await fork(page, uniqueName("yaml"));
    await page.getByRole("tab", { name: "Custom YAML" }).click();
    const editor = page.getByLabel("Layer definition (YAML)");
    await editor.fill(["category: layer", "name: greeting", 'version: "1"', "colour: blue", "steps:", "  - echo hi > /etc/greeting", ""].join("\n"));
    const problems = page.getByRole("list", { name: "Problems found in the YAML" });
    await expect(problems.getByRole("listitem")).toHaveCount(1);
    await expect(problems.getByRole("listitem")).toContainText("Line 4");
    await expect(problems.getByRole("listitem")).toContainText('unknown field "colour"');
    await expect(editor).toHaveAttribute("aria-invalid", "true");
    await page.getByRole("button", { name: "Add layer" }).click();
    await expect(page.getByText("No layers yet")).toBeVisible();

    // Fixed, the layer goes in.
    await editor.fill(["category: layer", "name: greeting", 'version: "1"', "requires: [system/base]", "steps:", "  - echo hi > /etc/greeting", ""].join("\n"));
    await expect(problems).toHaveCount(0);
    await page.getByRole("button", { name: "Add layer" }).click();
    await expect(layers(page).getByRole("listitem", { name: "layer/greeting" })).toBeVisible();
  });

  test("an overlay path with '..' is refused with a message naming the field", async ({ page }) => {
    await fork(page, uniqueName("overlay"));
    await page.getByRole("tab", { name: "Overlay files" }).click();
    const form = page.getByRole("form", { name: "Overlay files" });
    await form.getByLabel("Path").fill("/etc/../root/.ssh/authorized_keys");
    await form.getByLabel("Content").fill("ssh-ed25519 AAAA\n");
    await form.getByRole("button", { name: "Add layer" }).click();
    // Scoped to the form: after a navigation Next's route announcer is a non-empty alert too.
    await expect(form.getByRole("alert")).toContainText("files[0].path");
    await expect(form.getByRole("alert")).toContainText("path must not contain '..'");
    await expect(form.getByLabel("Path")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText("No layers yet")).toBeVisible();
  });
});

test.describe("admin", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("publishing an invalid base manifest shows the error at its line, and publishes nothing", async ({ page }) => {
    await signInInBrowser(page, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
    await expect(page).toHaveURL(/\/dashboard$/);
    await page.goto("/base-manifests");
    const form = page.getByRole("form", { name: "Publish version" });
    const editor = form.getByLabel("Manifest YAML");
    const yaml = ["name: strata-base", 'version: "99"', "base_image: strata/debian:bookworm", "packages:", "  - category: system", "    name: base", '    version: "1"', "    stepz: [apt-get update]", ""];
    await editor.fill(yaml.join("\n"));
    const problems = form.getByRole("list", { name: "Problems found in the YAML" });
    await expect(problems.getByRole("listitem")).toContainText("Line 8");
    await expect(problems.getByRole("listitem")).toContainText('did you mean "steps"');
    await form.getByRole("button", { name: "Publish version" }).click();
    await expect(form.getByRole("alert")).toContainText("line 8");
    await expect(page.getByRole("region", { name: "Versions" }).getByRole("link", { name: /strata-base 99/ })).toHaveCount(0);
  });
});

test("an admin publishes a new base version; a flavour is rebased onto it after seeing the diff", async ({ page, browser, baseURL }) => {
  // The admin publishes a copy of the bundled base under a unique name, with one package more.
  const baseName = uniqueName("pw-base");
  const admin = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] }, ignoreHTTPSErrors: true });
  const adminPage = await admin.newPage();
  await signInInBrowser(adminPage, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
  await expect(adminPage).toHaveURL(/\/dashboard$/);
  await adminPage.goto("/base-manifests");
  await adminPage.getByRole("region", { name: "Versions" }).getByRole("link", { name: /^strata-base 1\b/ }).click();
  const source = await (await adminPage.request.get((await adminPage.getByRole("link", { name: "Download YAML" }).getAttribute("href"))!)).text();
  const yaml =
    source.replace(/^name: strata-base$/m, `name: ${baseName}`).trimEnd() +
    '\n\n  - category: system\n    name: motd-base\n    version: "1"\n    description: A message of the day for every device\n    requires: [system/base]\n    files:\n      - { path: /etc/motd, mode: "0644", content: "Strata\\n" }\n';
  await adminPage.goto("/base-manifests");
  const publish = adminPage.getByRole("form", { name: "Publish version" });
  await publish.getByLabel("Manifest YAML").fill(yaml);
  await publish.getByRole("button", { name: "Publish version" }).click();
  await expect(adminPage.getByRole("heading", { level: 1, name: `${baseName} 1` })).toBeVisible();
  await expect(adminPage.getByRole("article", { name: "system/motd-base" })).toBeVisible();
  await admin.close();

  // The customer's flavour on strata-base 1, with a layer of its own.
  const name = uniqueName("rebase");
  await fork(page, name);
  await page.getByRole("form", { name: "Extra Debian packages" }).getByLabel("Debian packages").fill("curl");
  await page.getByRole("form", { name: "Extra Debian packages" }).getByRole("button", { name: "Add layer" }).click();
  await page.getByRole("button", { name: "Save revision" }).click();
  await expect(page.getByRole("form", { name: "Save revision" }).getByRole("status")).toContainText("Saved revision 2.");

  await page.getByRole("navigation", { name: "Flavour" }).getByRole("link", { name: "Rebase" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Rebase ${name}` })).toBeVisible();
  const target = await page.getByRole("option", { name: new RegExp(`^${baseName} 1`) }).textContent();
  await page.getByLabel("New base version").selectOption({ label: target! });
  await page.getByRole("button", { name: "Preview rebase" }).click();
  const changes = page.getByRole("region", { name: "What changes" });
  await expect(changes.getByRole("region", { name: "Added packages" })).toContainText("system/motd-base");
  await expect(changes.getByRole("region", { name: "Removed packages" })).toHaveCount(0);
  await page.getByLabel("Revision message (optional)").fill("Onto the base with a motd");
  await page.getByRole("button", { name: `Rebase onto ${baseName} 1` }).click();

  await expect(page.getByRole("heading", { level: 1, name: `History of ${name}` })).toBeVisible();
  await expect(page.getByRole("region", { name: "Revisions" }).getByRole("row", { name: /^r3 Onto the base with a motd/ })).toContainText(baseName);
  await expect(page.getByRole("region", { name: "Added packages" })).toContainText("system/motd-base");
});
