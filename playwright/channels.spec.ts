// Releases end to end, as the three kinds of users meet them: a customer builds a flavour and asks to release it
// onto stable; the admin approves it in the browser; a device running the agent (the bundle the portal serves, on
// Node) registers with a token, verifies the signed channel document and upgrades its A/B root from the real
// registry; the inventory shows it on the new version. Then the agent refuses a tampered and a replayed document,
// served by a small proxy in this test standing in for an attacker between device and portal.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminPage, buildAndWait, publishTinyBase } from "./helpers";

const unique = () => crypto.randomUUID().slice(0, 8);
const run = unique();
let baseManifestId = "";

test.beforeAll(async ({ browser }, testInfo) => {
  baseManifestId = await publishTinyBase(browser, testInfo, { name: "tiny-channel-e2e", version: run, description: "One tiny package, for the release tests", step: `echo hello > /etc/hello-${run}` });
});

interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
}

function agent(bundle: string, args: string[]): Promise<AgentRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bundle, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Plain HTTP in front of the portal's device API: passes requests through, records every channel document, and
 * can answer /channel with a tampered or an older (recorded) document instead.
 */
async function startProxy(portal: string, ca: Buffer) {
  const documents: Array<{ body: Buffer; headers: http.IncomingHttpHeaders }> = [];
  let answer: ((res: http.ServerResponse) => void) | null = null;
  const server = http.createServer((req, res) => {
    if (answer && req.url?.startsWith("/api/device/v1/channel")) {
      answer(res);
      return;
    }
    // Without If-None-Match the portal always sends the document, so the proxy sees (and keeps) every one.
    const { "if-none-match": _etag, ...headers } = req.headers;
    const upstream = https.request(new URL(req.url!, portal), { method: req.method, headers: { ...headers, host: new URL(portal).host }, ca }, (up) => {
      const chunks: Buffer[] = [];
      up.on("data", (c: Buffer) => chunks.push(c));
      up.on("end", () => {
        const body = Buffer.concat(chunks);
        if (req.url?.startsWith("/api/device/v1/channel") && up.statusCode === 200) documents.push({ body, headers: up.headers });
        res.writeHead(up.statusCode ?? 502, up.headers).end(body);
      });
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    documents,
    serve(body: Buffer, headers: http.IncomingHttpHeaders) {
      answer = (res) => res.writeHead(200, { "content-type": "application/json", "x-strata-signature": headers["x-strata-signature"] as string, etag: `"other-${unique()}"` }).end(body);
    },
    passThrough() {
      answer = null;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("build → request on stable → admin approves → the agent upgrades its A/B root; tampered and replayed documents are refused", async ({ page, browser, baseURL }, testInfo) => {
  test.setTimeout(420_000);
  const tag = unique();
  const name = `rel-${unique()}`;
  const overlayPath = `/etc/strata-e2e-${tag}`;
  const created = await page.request.post("/api/v1/flavours", { data: { baseManifestId, name } });
  expect(created.status(), await created.text()).toBe(201);
  const { id: flavourId } = (await created.json()) as { id: string };
  const layer = { category: "layer", name: "motd", version: "1", requires: ["system/hello"], steps: ["true"], files: [{ path: overlayPath, mode: "0644", content: `${tag}\n` }] };
  const saved = await page.request.post(`/api/v1/flavours/${flavourId}/revisions`, { data: { layers: [layer], message: "add motd" } });
  expect(saved.status(), await saved.text()).toBe(201);

  // The customer builds and asks to release the build onto stable.
  await buildAndWait(page, flavourId);
  const form = page.getByRole("form", { name: "Release this build" });
  await form.getByLabel("Channel").selectOption({ label: "stable" });
  await form.getByLabel("Version").fill("0.1.0");
  await form.getByLabel("Release notes").fill(`first release ${tag}`);
  await form.getByRole("button", { name: "Request release" }).click();
  await expect(page.getByText(/Requested 0\.1\.0 on stable/)).toBeVisible();

  // A version that does not grow is refused in the form, with the reason.
  await form.getByLabel("Version").fill("0.0.9");
  await form.getByRole("button", { name: "Request release" }).click();
  await expect(form.getByText(/higher than 0\.1\.0/)).toBeVisible();

  // The admin approves it in the queue, after reading what it changes.
  const admin = await adminPage(browser, testInfo);
  try {
    await admin.goto("/admin/releases");
    const request = admin.getByRole("article", { name: `Release 0.1.0 of ${name}/stable` });
    await expect(request).toContainText(`first release ${tag}`);
    await expect(request).toContainText(/first release on this channel/i);
    await request.getByLabel("Rollout percentage").fill("100");
    await request.getByRole("button", { name: "Approve" }).click();
    await expect(request).toBeHidden();
  } finally {
    await admin.context().close();
  }

  // The channel page shows the release; the customer makes a registration token for a device.
  const { channels } = (await (await page.request.get(`/api/v1/flavours/${flavourId}/channels`)).json()) as { channels: Array<{ id: string; name: string }> };
  const stable = channels.find((c) => c.name === "stable")!;
  await page.goto(`/channels/${stable.id}`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("stable");
  await expect(page.getByText("0.1.0").first()).toBeVisible();
  await page.getByLabel("Token name").fill(`kiosks ${tag}`);
  await page.getByLabel("Maximum uses").fill("1");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByRole("region", { name: "New registration token" })).toContainText("copy it now");
  const token = ((await page.getByTestId("new-registration-token").textContent()) ?? "").trim();
  expect(token).toMatch(/^strata_reg_[A-Za-z0-9_-]{43}$/);

  // The device: the agent bundle the portal serves, run with Node, trusting the portal's local CA.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "strata-agent-e2e-"));
  const proxyCa = await fs.readFile(path.join(process.env.STRATA_DATA_DIR!, "tls", "ca.pem"));
  const proxy = await startProxy(baseURL!, proxyCa);
  try {
    const download = await page.request.get("/api/device/v1/agent.mjs");
    expect(download.status()).toBe(200);
    const bundle = path.join(dir, "strata-agent.mjs");
    await fs.writeFile(bundle, await download.body());
    const root = path.join(dir, "root");
    const ca = path.join(process.env.STRATA_DATA_DIR!, "tls", "ca.pem");

    const first = await agent(bundle, ["--server", baseURL!, "--ca", ca, "--root", root, "--token", token!, "--name", `kiosk-${tag}`, "--once"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const active = (await fs.readFile(path.join(root, "active"), "utf8")).trim();
    expect(active).toBe("a");
    expect(await fs.readFile(path.join(root, "slots", active, overlayPath), "utf8")).toBe(`${tag}\n`);

    // The inventory shows the device on the new version, upgraded successfully.
    await page.goto("/devices");
    const row = page.getByRole("row").filter({ hasText: `kiosk-${tag}` });
    await expect(row).toContainText("0.1.0");
    await expect(row).toContainText(/success/i);

    // A token used up refuses a second device, with the reason.
    const second = await agent(bundle, ["--server", baseURL!, "--ca", ca, "--root", path.join(dir, "root2"), "--token", token!, "--name", `kiosk2-${tag}`, "--once"]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/used up/);

    // Through the proxy: a cycle passes, and the proxy keeps the document the agent accepted.
    const through = await agent(bundle, ["--server", proxy.url, "--root", root, "--once"]);
    expect(through.code, through.stdout + through.stderr).toBe(0);
    const accepted = proxy.documents.at(-1)!;

    // A tampered document (one character of the body changed, the signature kept) is refused; the slot stays.
    const tampered = Buffer.from(accepted.body.toString().replace(`"name": "stable"`, `"name": "stablE"`));
    proxy.serve(tampered, accepted.headers);
    const refusedTamper = await agent(bundle, ["--server", proxy.url, "--root", root, "--once"]);
    expect(refusedTamper.code).not.toBe(0);
    expect(refusedTamper.stderr).toMatch(/signature/i);
    expect((await fs.readFile(path.join(root, "active"), "utf8")).trim()).toBe("a");

    // The sequence grows (the customer pins the device and unpins it); the agent accepts the newer document…
    const { devices } = (await (await page.request.get(`/api/v1/devices?channel=${stable.id}`)).json()) as { devices: Array<{ id: string; name: string }> };
    const device = devices.find((d) => d.name === `kiosk-${tag}`)!;
    for (const pinnedReference of [`127.0.0.1:5055/nowhere/else:${tag}`, null]) {
      const pinned = await page.request.patch(`/api/v1/devices/${device.id}`, { data: { pinnedReference } });
      expect(pinned.status(), await pinned.text()).toBe(200);
    }
    proxy.passThrough();
    await expect
      .poll(async () => {
        const r = await agent(bundle, ["--server", proxy.url, "--root", root, "--once"]);
        return r.code === 0 && JSON.parse(proxy.documents.at(-1)!.body.toString()).sequence > JSON.parse(accepted.body.toString()).sequence;
      }, { timeout: 20_000 })
      .toBe(true);
    // …and then refuses the older one, replayed with its valid signature.
    proxy.serve(accepted.body, accepted.headers);
    const refusedReplay = await agent(bundle, ["--server", proxy.url, "--root", root, "--once"]);
    expect(refusedReplay.code).not.toBe(0);
    expect(refusedReplay.stderr).toMatch(/sequence|replay/i);
    expect((await fs.readFile(path.join(root, "active"), "utf8")).trim()).toBe("a");
  } finally {
    await proxy.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
