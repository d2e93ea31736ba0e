// The flavour editor as a new user meets it: the CodeMirror YAML editor (problems at their lines, completion), unsaved
// changes that the header's build and leaving the page respect, the fork banner, overlay previews; and the favicon.
import crypto from "node:crypto";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { publishTinyBase, signInInBrowser, forkBundledBase, uniqueName } from "./helpers";


const layers = (page: Page) => page.getByRole("list", { name: "Layers of this flavour" });
const completions = (page: Page) => page.getByRole("listbox");
const editorText = async (editor: Locator) => (await editor.locator(".cm-line").allInnerTexts()).join("\n");

async function addHtop(page: Page) {
  await page.getByRole("tab", { name: "From the catalog" }).click();
  await page.getByRole("radio", { name: "Extra Debian packages" }).check();
  const apt = page.getByRole("form", { name: "Extra Debian packages" });
  await apt.getByLabel("Debian packages").fill("htop");
  await apt.getByRole("button", { name: "Add layer" }).click();
  await expect(layers(page).getByRole("listitem", { name: "layer/apt-htop" })).toBeVisible();
}

test.describe("the YAML editor", () => {
  test("a problem is a lint diagnostic at its line, with the message on hover", async ({ page }) => {
    await forkBundledBase(page, uniqueName("lint"));
    await page.getByRole("tab", { name: "Custom YAML" }).click();
    const editor = page.getByRole("textbox", { name: "Layer definition (YAML)" });
    await editor.fill(["category: layer", "name: greeting", 'version: "1"', "colour: blue", "steps:", "  - echo hi > /etc/greeting", ""].join("\n"));

    // Marked in the text itself (line 4), and in the gutter.
    const marked = page.locator(".cm-lintRange-error");
    await expect(marked).toHaveCount(1);
    await expect(marked).toHaveText("colour: blue");
    await expect(page.locator(".cm-lint-marker-error")).toHaveCount(1);
    await expect(editor).toHaveAttribute("aria-invalid", "true");
    await marked.hover();
    await expect(page.locator(".cm-tooltip-lint")).toContainText('unknown field "colour"');

    // The list below jumps to the line.
    await page.getByRole("list", { name: "Problems found in the YAML" }).getByRole("button", { name: "Line 4" }).click();
    await expect(editor).toBeFocused();

    // Fixed: the marks go.
    await editor.fill(["category: layer", "name: greeting", 'version: "1"', "steps:", "  - echo hi > /etc/greeting", ""].join("\n"));
    await expect(marked).toHaveCount(0);
    await expect(editor).not.toHaveAttribute("aria-invalid", "true");
  });

  test("requires completes base packages and earlier layers; fields and catalog entries complete too", async ({ page }) => {
    await forkBundledBase(page, uniqueName("complete"));
    await addHtop(page);
    await page.getByRole("tab", { name: "Custom YAML" }).click();
    const editor = page.getByRole("textbox", { name: "Layer definition (YAML)" });

    // Flow list: base packages and the layer added before, each with where it comes from.
    await editor.fill(["category: layer", "name: tools", 'version: "1"', "requires: ["].join("\n"));
    // Options are picked by click: CodeMirror ignores Enter for a moment after the list opens, so a fast typist's
    // Enter is a new line rather than a surprise completion.
    await page.keyboard.type("system/ba");
    const baseOption = completions(page).getByRole("option", { name: /system\/base/ });
    await expect(baseOption.locator(".cm-completionDetail")).toHaveText("base");
    await baseOption.click();
    await page.keyboard.type(", layer/");
    const layerOption = completions(page).getByRole("option", { name: /layer\/apt-htop/ });
    await expect(layerOption.locator(".cm-completionDetail")).toHaveText("layer");
    await layerOption.click();
    await page.keyboard.type("]\nsteps:\n- echo tools");
    await expect.poll(() => editorText(editor)).toContain("requires: [system/base, layer/apt-htop]");

    // Block list: the same ids.
    await editor.fill(["category: layer", "name: tools", 'version: "1"', "requires:", "  - sys"].join("\n"));
    await page.keyboard.type("tem/netw");
    await expect(completions(page).getByRole("option", { name: /system\/networking/ })).toBeVisible();
    await page.keyboard.press("Escape");

    // Fields at the start of a line.
    await editor.fill(["category: layer", "name: tools", 'version: "1"', ""].join("\n"));
    await page.keyboard.type("ste");
    await completions(page).getByRole("option", { name: /^steps/ }).click();
    await expect.poll(() => editorText(editor)).toContain("steps: ");

    // In an empty editor, a catalog entry gives a whole definition to start from.
    await editor.fill("");
    await page.keyboard.press("Control+Space");
    await completions(page).getByRole("option", { name: /Extra Debian packages/ }).click();
    await expect.poll(() => editorText(editor)).toContain("apt-get install -y --no-install-recommends htop");
    await page.getByRole("button", { name: "Add layer" }).click();
    await expect(layers(page).getByRole("listitem", { name: "layer/apt-packages" })).toBeVisible();
  });
});

test.describe("the base-manifest editor", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("requires completes the manifest's own packages", async ({ page }) => {
    await signInInBrowser(page, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
    await expect(page).toHaveURL(/\/dashboard$/);
    await page.goto("/base-manifests");
    const form = page.getByRole("form", { name: "Publish version" });
    const editor = form.getByRole("textbox", { name: "Manifest YAML" });
    const yaml = ["name: pw-complete", 'version: "1"', "base_image: strata/debian:bookworm", "packages:", "  - category: system", "    name: first", '    version: "1"', "    steps: [true]", "  - category: system", "    name: second", '    version: "1"', "    steps: [true]", "    requires: ["];
    await editor.fill(yaml.join("\n"));
    await page.keyboard.type("sys");
    const option = completions(page).getByRole("option", { name: /system\/first/ });
    await expect(option.locator(".cm-completionDetail")).toHaveText("package");
    await option.click();
    await expect.poll(() => editorText(editor)).toContain("requires: [system/first");
  });
});

test.describe("unsaved changes", () => {
  test("the header says the changes are unsaved and offers Save and build; a refused save starts no build", async ({ page }) => {
    const id = await forkBundledBase(page, uniqueName("unsaved"));
    const header = page.getByRole("button", { name: "Build r1" });
    await expect(header).toBeVisible();

    // Leave out system/base, then add a layer that requires it: the server refuses the revision.
    await page.getByText("Base packages", { exact: true }).click();
    const basePackages = page.getByRole("list", { name: "Base packages of this flavour" });
    await addHtop(page);
    await expect(header).toHaveCount(0);
    const build = page.getByRole("group", { name: "Build" });
    await expect(build).toContainText("Unsaved changes: revision 1 does not have them");
    const leaveOut = basePackages.getByRole("listitem", { name: "system/openssh", exact: true }).getByRole("button", { name: "Leave out system/openssh" });
    await leaveOut.click();
    // A layer requiring a left-out package: written by hand so it goes past the catalog's requires.
    await page.getByRole("tab", { name: "Custom YAML" }).click();
    await page
      .getByRole("textbox", { name: "Layer definition (YAML)" })
      .fill(["category: layer", "name: ssh-banner", 'version: "1"', "requires: [system/openssh]", "steps:", "  - echo hi > /etc/issue.net", ""].join("\n"));
    await page.getByRole("button", { name: "Add layer" }).click();
    await expect(layers(page).getByRole("listitem", { name: "layer/ssh-banner" })).toBeVisible();

    await build.getByRole("button", { name: "Save and build" }).click();
    await expect(build.getByRole("alert")).toContainText("The revision was not saved, so no build started");
    await expect(page).toHaveURL(new RegExp(`/flavours/${id}`));
    await expect(page.getByRole("group", { name: "Build" })).toContainText("Unsaved changes");
    const listed = await page.request.get(`/api/v1/flavours/${id}/builds`);
    expect(listed.status()).toBe(200);
    const body = (await listed.json()) as { builds: unknown[] } | unknown[];
    expect(Array.isArray(body) ? body : body.builds).toEqual([]);
  });

  test("Save and build saves the revision, then builds that revision", async ({ page, browser }, testInfo) => {
    const run = crypto.randomUUID().slice(0, 8);
    const baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-editor", version: run, description: "Tiny base for the editor spec", step: `echo hello > /etc/hello-${run}` });
    const name = uniqueName("save-build");
    const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name } });
    expect(created.status(), await created.text()).toBe(201);
    const { id } = (await created.json()) as { id: string };

    await page.goto(`/flavours/${id}`);
    await page.getByRole("tab", { name: "Custom YAML" }).click();
    await page
      .getByRole("textbox", { name: "Layer definition (YAML)" })
      .fill(["category: layer", "name: greeting", 'version: "1"', "requires: [system/hello]", "steps:", `  - echo ${run} > /etc/greeting`, ""].join("\n"));
    await page.getByRole("button", { name: "Add layer" }).click();
    await expect(layers(page).getByRole("listitem", { name: "layer/greeting" })).toBeVisible();

    await page.getByRole("group", { name: "Build" }).getByRole("button", { name: "Save and build" }).click();
    await expect(page).toHaveURL(/\/builds\/[0-9a-f-]{36}$/);
    await expect(page.getByRole("heading", { level: 1, name: "Build r2.1" })).toBeVisible();
    const revision = await (await page.request.get(`/api/v1/flavours/${id}/revisions/2`)).json();
    expect(revision.layers.map((l: { name: string }) => l.name)).toEqual(["greeting"]);
  });

  test("leaving with unsaved layers asks first: a link, the Builds tab, closing the tab", async ({ page }) => {
    const id = await forkBundledBase(page, uniqueName("leave"));
    // Nothing unsaved: the Builds tab just opens.
    await page.getByRole("navigation", { name: "Flavour" }).getByRole("link", { name: "Builds" }).click();
    await expect(page).toHaveURL(new RegExp(`/flavours/${id}/builds$`));
    await page.goto(`/flavours/${id}`);

    await addHtop(page);
    const asked: string[] = [];
    page.once("dialog", (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole("navigation", { name: "Flavour" }).getByRole("link", { name: "Builds" }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain("unsaved changes");
    // Stayed, with the layer.
    await expect(page).toHaveURL(new RegExp(`/flavours/${id}(\\?.*)?$`));
    await expect(layers(page).getByRole("listitem", { name: "layer/apt-htop" })).toBeVisible();

    // A link elsewhere in the app (the breadcrumb), accepted this time: the page is left.
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Flavours" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Flavours" })).toBeVisible();

    // Closing the tab with unsaved layers: the browser asks (beforeunload).
    await page.goto(`/flavours/${id}`);
    await addHtop(page);
    const closing = page.waitForEvent("dialog");
    await page.close({ runBeforeUnload: true });
    const dialog = await closing;
    expect(dialog.type()).toBe("beforeunload");
    await dialog.accept();
  });
});

test("the fork banner goes once layers are added; overlay layers preview their files; one layer is 'this layer'", async ({ page }) => {
  await forkBundledBase(page, uniqueName("small"));
  const banner = page.getByText(/Forked from strata-base .* Add layers below/);
  await expect(banner).toBeVisible();

  await page.getByRole("tab", { name: "Overlay files" }).click();
  const files = page.getByRole("form", { name: "Overlay files" });
  await files.getByLabel("Path").fill("/etc/motd");
  await files.getByLabel("Content").fill(["Welcome to Strata", "line two", "line three", "line four", "line five", "line six", ""].join("\n"));
  await files.getByRole("button", { name: "Add layer" }).click();
  const overlay = layers(page).getByRole("listitem", { name: "layer/files" });
  await expect(overlay).toBeVisible();
  await expect(banner).toHaveCount(0);

  // Collapsed: the path shows, the content does not until opened.
  const preview = overlay.getByRole("list", { name: "Files of layer/files" });
  await expect(overlay).toContainText("/etc/motd");
  await expect(preview).toBeHidden();
  await overlay.getByText("show content").click();
  await expect(preview.getByRole("listitem", { name: "/etc/motd" })).toContainText("Welcome to Strata");
  await expect(preview.getByRole("listitem", { name: "/etc/motd" })).toContainText("line four");
  await expect(preview.getByRole("listitem", { name: "/etc/motd" })).not.toContainText("line five");
  await expect(preview.getByRole("listitem", { name: "/etc/motd" })).toContainText("… 2 more lines");

  const save = page.getByRole("form", { name: "Save revision" });
  await expect(save).toContainText("base packages and this layer;");
  await expect(save).not.toContainText("these 1 layer");
  await save.getByRole("button", { name: "Save revision" }).click();
  await expect(save.getByRole("status")).toContainText("Saved revision 2.");
});

test("the favicon and logo are served, and no page logs a 404", async ({ page }) => {
  const favicon = await page.request.get("/favicon.ico");
  expect(favicon.status()).toBe(200);
  expect(favicon.headers()["content-type"]).toMatch(/image\//);
  const logo = await page.request.get("/logo.svg");
  expect(logo.status()).toBe(200);
  expect(await logo.text()).toContain("<svg");

  const notFound: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /404/.test(message.text())) notFound.push(`${page.url()}: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() === 404) notFound.push(`${page.url()}: ${response.url()}`);
  });
  const id = await forkBundledBase(page, uniqueName("icons"));
  for (const path of ["/dashboard", "/flavours", `/flavours/${id}`, `/flavours/${id}/builds`, `/flavours/${id}/history`, "/base-manifests", "/settings/tokens"]) {
    await page.goto(path);
    await page.waitForLoadState("load");
  }
  expect(notFound).toEqual([]);
  // The page links both icons.
  await expect(page.locator('link[rel="icon"][href^="/favicon.ico"]')).toHaveCount(1);
  await expect(page.locator('link[rel="icon"][href^="/logo.svg"]')).toHaveCount(1);
});
