// Disk images in the browser against the real worker: on a succeeded build's page a customer asks for a disk too small
// for the build (refused beside the size field, nothing made), then for the default one, which the worker takes up.
// The tiny e2e base has no kernel, so the job fails with make-disk's own sentence: the page shows it, which proves the
// path from the form through the queue and the worker back to the page.
import crypto from "node:crypto";
import { expect, test } from "@playwright/test";
import { buildAndWait, publishTinyBase } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-disk-e2e", version: run, description: "One tiny package, for the disk image tests", step: `echo hello > /etc/hello-${run}` });
});

test("ask for a disk image of a succeeded build: a size too small is refused beside the field; the default one runs and fails readably without a kernel", async ({ page }) => {
  test.setTimeout(420_000);
  const tag = unique();
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name: `disk-${tag}` } });
  expect(created.status(), await created.text()).toBe(201);
  const { id: flavourId } = (await created.json()) as { id: string };
  const layer = { category: "layer", name: "motd", version: "1", requires: ["system/hello"], steps: [`echo ${tag} > /etc/motd`] };
  const saved = await page.request.post(`/api/v1/flavours/${flavourId}/revisions`, { data: { layers: [layer], message: "add motd" } });
  expect(saved.status(), await saved.text()).toBe(201);

  await buildAndWait(page, flavourId);
  // The panel appears once the page learns the build succeeded (it polls, then reloads the page's data).
  const form = page.getByRole("form", { name: "Make a disk image" });
  await expect(form).toBeVisible({ timeout: 20_000 });
  const images = page.getByTestId("disk-image");
  await expect(page.getByText("No disk image of this build yet.")).toBeVisible();

  // Both formats are asked for unless unticked; the size field says what the default is.
  await expect(form.getByRole("checkbox", { name: "raw", exact: true })).toBeChecked();
  await expect(form.getByRole("checkbox", { name: "qcow2", exact: true })).toBeChecked();
  const size = form.getByLabel("Disk size");
  await expect(size).toHaveAttribute("placeholder", /GiB \(the default\)/);

  // Too small for the build: the server's sentence, naming the smallest disk, beside the field; nothing is made.
  await size.fill("64M");
  await form.getByRole("button", { name: "Make disk image" }).click();
  await expect(size).toHaveAccessibleDescription(/64 MiB is too small for this build.*the smallest disk is \d/);
  await expect(size).toHaveAttribute("aria-invalid", "true");
  await expect(images).toHaveCount(0);

  // Not a size at all: said beside the field too.
  await size.fill("lots");
  await form.getByRole("button", { name: "Make disk image" }).click();
  await expect(size).toHaveAccessibleDescription(/A size is a number of bytes or a number with a unit/);
  await expect(images).toHaveCount(0);

  // The default size: a disk image appears at once, queued or already running.
  await size.fill("");
  await form.getByRole("button", { name: "Make disk image" }).click();
  await expect(images).toHaveCount(1);
  const image = images.first();
  await expect(image.getByTestId("disk-image-status")).toHaveText(/Queued|Running|Failed/);
  await expect(size).not.toHaveAttribute("aria-invalid", "true");

  // The worker takes it up and fails it with make-disk's reason, shown as the image's error.
  await expect(image.getByTestId("disk-image-status")).toHaveText("Failed", { timeout: 240_000 });
  await expect(image.getByTestId("disk-image-error")).toContainText("this image has no kernel");
  // The log was open while the image was made and keeps make-disk's output; it can be hidden.
  const log = image.getByRole("log", { name: "Disk image log" });
  await expect(log).toContainText("this image has no kernel");
  await image.getByRole("button", { name: /Hide the log/ }).click();
  await expect(log).toBeHidden();

  // It is state in the database: a reload shows the same image and error, the log closed until asked for.
  await page.reload();
  const reloaded = page.getByTestId("disk-image").first();
  await expect(page.getByTestId("disk-image")).toHaveCount(1);
  await expect(reloaded.getByTestId("disk-image-error")).toContainText("this image has no kernel");
  await reloaded.getByRole("button", { name: /Show the log/ }).click();
  await expect(reloaded.getByRole("log", { name: "Disk image log" })).toContainText("this image has no kernel");
});
