// The controls around a release, in the browser: the admin rejects (a reason is required), approves at 25 %,
// raises the rollout, pauses, resumes and rolls back on the channel page, and every change lands in the audit log;
// a customer sees none of those controls. On /devices a customer pins a registered device (a bad reference is
// refused with the reason), unpins it, moves it to beta and revokes it.
import crypto from "node:crypto";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { adminPage, pageAlert, publishTinyBase } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-controls-e2e", version: run, description: "One tiny package, for the channel control tests", step: `echo hello > /etc/hello-${run}` });
});

async function ok<T>(response: Promise<import("@playwright/test").APIResponse>, status = 200): Promise<T> {
  const res = await response;
  expect(res.status(), await res.text()).toBe(status);
  return (await res.json()) as T;
}

/** A build through the API, waited for: what the Build button does. */
async function build(request: APIRequestContext, flavourId: string): Promise<string> {
  const { id } = await ok<{ id: string }>(request.post(`/api/v1/flavours/${flavourId}/builds`, { data: {} }), 201);
  await expect.poll(async () => (await ok<{ status: string }>(request.get(`/api/v1/builds/${id}`))).status, { timeout: 150_000, intervals: [500] }).toBe("succeeded");
  return id;
}

test("the admin rejects, approves at 25 %, raises, pauses, resumes and rolls back; the audit log shows each", async ({ page, browser }, testInfo) => {
  test.setTimeout(360_000);
  const name = `ctl-${unique()}`;
  const flavour = await ok<{ id: string }>(page.request.post("/api/v1/flavours", { data: { baseManifestId, name } }), 201);
  const layer = (n: number) => ({ category: "layer", name: "note", version: String(n), requires: ["system/hello"], steps: [`echo ${n} > /etc/note`] });
  await ok(page.request.post(`/api/v1/flavours/${flavour.id}/revisions`, { data: { layers: [layer(1)], message: "one" } }), 201);
  const first = await build(page.request, flavour.id);
  await ok(page.request.post(`/api/v1/flavours/${flavour.id}/revisions`, { data: { layers: [layer(2)], message: "two" } }), 201);
  const second = await build(page.request, flavour.id);
  const { channels } = await ok<{ channels: Array<{ id: string; name: string }> }>(page.request.get(`/api/v1/flavours/${flavour.id}/channels`));
  const stable = channels.find((c) => c.name === "stable")!;
  const r1 = await ok<{ id: string }>(page.request.post(`/api/v1/channels/${stable.id}/releases`, { data: { buildId: first, version: "1.0.0" } }), 201);
  await ok(page.request.post(`/api/v1/channels/${stable.id}/releases`, { data: { buildId: second, version: "1.1.0", notes: "to be rejected" } }), 201);

  const admin = await adminPage(browser, testInfo);
  try {
    await ok(admin.request.post(`/api/v1/releases/${r1.id}/approve`, { data: { rolloutPercent: 100 } }));
    // Reject needs a reason; then the request leaves the queue and shows among the decided ones, with it.
    await admin.goto("/admin/releases");
    const rejected = admin.getByRole("article", { name: `Release 1.1.0 of ${name}/stable` });
    await expect(rejected).toContainText("to be rejected");
    // What it changes against 1.0.0, the channel's release: the layer's new version.
    await expect(rejected).toContainText("layer/note");
    await rejected.getByRole("button", { name: "Reject" }).click();
    await expect(rejected.getByText(/reason is required/)).toBeVisible();
    await rejected.getByLabel("Reason").fill("the note layer is not signed off");
    await rejected.getByRole("button", { name: "Reject" }).click();
    await expect(rejected).toBeHidden();
    await expect(admin.getByRole("row", { name: `Release 1.1.0 of ${name}/stable` })).toContainText("the note layer is not signed off");

    // 1.1.0 is taken (rejected); 1.2.0 of the same build is approved at 25 %.
    await ok(page.request.post(`/api/v1/channels/${stable.id}/releases`, { data: { buildId: second, version: "1.2.0" } }), 201);
    await admin.reload();
    const approved = admin.getByRole("article", { name: `Release 1.2.0 of ${name}/stable` });
    await approved.getByLabel("Rollout percentage").fill("25");
    await approved.getByRole("button", { name: "Approve" }).click();
    await expect(approved).toBeHidden();

    await admin.goto(`/channels/${stable.id}`);
    const current = admin.getByRole("region", { name: "Current release" });
    await expect(current).toContainText("1.2.0");
    const rollout = admin.getByRole("region", { name: "Rollout" });
    await expect(rollout).toContainText("25 %");
    await rollout.getByLabel("Rollout percentage").fill("50");
    await rollout.getByRole("button", { name: "Set rollout" }).click();
    await expect(rollout).toContainText("50 %");

    await admin.getByRole("form", { name: "Pause channel" }).getByLabel("Reason").fill("field reports of slow boots");
    await admin.getByRole("button", { name: "Pause" }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Paused since" })).toContainText("field reports of slow boots");
    await admin.getByRole("button", { name: "Resume" }).click();
    await expect(admin.getByText(/Paused since/)).toBeHidden();

    await admin.getByLabel("Roll back to").selectOption({ label: "1.0.0" });
    await admin.getByRole("button", { name: "Roll back" }).click();
    await expect(current).toContainText("1.0.0");
    await expect(rollout).toContainText("100 %");

    const audit = admin.getByRole("region", { name: "Audit log" });
    for (const action of ["release.reject", "release.approve", "channel.rollout", "channel.pause", "channel.resume", "channel.rollback"]) {
      await expect(audit.getByText(action, { exact: true }).first()).toBeVisible();
    }
    await expect(audit).toContainText("percent: 25 → 50");
  } finally {
    await admin.context().close();
  }

  // The customer sees the channel, not the admin's controls.
  await page.goto(`/channels/${stable.id}`);
  await expect(page.getByRole("region", { name: "Current release" })).toContainText("1.0.0");
  await expect(page.getByRole("button", { name: "Pause" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Roll back" })).toHaveCount(0);
});

test("a customer pins, unpins, moves and revokes a device on /devices", async ({ page }) => {
  const name = `dev-${unique()}`;
  const flavour = await ok<{ id: string }>(page.request.post("/api/v1/flavours", { data: { baseManifestId, name } }), 201);
  const { channels } = await ok<{ channels: Array<{ id: string; name: string }> }>(page.request.get(`/api/v1/flavours/${flavour.id}/channels`));
  const stable = channels.find((c) => c.name === "stable")!;
  const { token } = await ok<{ token: string }>(page.request.post(`/api/v1/channels/${stable.id}/registration-tokens`, { data: { name: "bench" } }), 201);
  const device = `kiosk-${unique()}`;
  await ok(page.request.post("/api/device/v1/register", { data: { token, name: device } }), 201);

  await page.goto("/devices");
  const row = page.getByRole("row", { name: device });
  await expect(row).toContainText(`${name} / stable`);
  await row.getByRole("button", { name: "Manage" }).click();

  // A reference without a registry host is refused with the reason; the device stays as it was.
  const pin = row.getByRole("form", { name: `Pin ${device}` });
  await pin.getByLabel("Image reference").fill("acme/web:1");
  await pin.getByRole("button", { name: "Pin" }).click();
  await expect(pin.getByText(/registry's host/)).toBeVisible();
  const reference = `127.0.0.1:5055/acme/${name}:stable`;
  await pin.getByLabel("Image reference").fill(reference);
  await pin.getByRole("button", { name: "Pin" }).click();
  await expect(row).toContainText(reference);
  await row.getByRole("button", { name: "Unpin" }).click();
  await expect(row).not.toContainText(reference);

  await row.getByLabel("Move to channel").selectOption({ label: `${name} / beta` });
  await row.getByRole("button", { name: "Move" }).click();
  await expect(row).toContainText(`${name} / beta`);

  await row.getByRole("button", { name: "Revoke" }).click();
  await row.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(row).toBeHidden();
  await page.getByRole("link", { name: "Show revoked devices" }).click();
  await expect(page.getByRole("row", { name: device })).toContainText(/revoked/i);
  await expect(pageAlert(page)).toHaveCount(0);
});
