import { expect, test } from "@playwright/test";
import { apiAccount, pageAlert } from "./helpers";

test("create a token in the browser, call the API with it, see its last use, revoke it", async ({ page, playwright, baseURL }) => {
  await page.goto("/settings/tokens");
  // A customer is offered read and write (checked) and a 90-day lifetime; not the admin scope.
  await expect(page.getByRole("checkbox", { name: "read" })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: "write" })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: "admin" })).toHaveCount(0);
  await expect(page.getByLabel("Expires in (days)")).toHaveValue("90");
  await page.getByLabel("Token name").fill("playwright-ci");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^strata_pat_/);
  await expect(page.getByText("it will not be shown again")).toBeVisible();
  const row = page.getByRole("row", { name: /playwright-ci/ });
  await expect(row).toContainText("read");
  await expect(row).toContainText("write");
  await expect(row).toContainText("never used");
  await expect(row).toContainText(/in 3 months|in 90 days/);

  // A clean client with no cookies: only the bearer token speaks.
  const api = await playwright.request.newContext({ baseURL, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  const me = await api.get("/api/v1/me");
  expect(me.status()).toBe(200);
  expect((await me.json()).via).toBe("token");
  // A token cannot make tokens (not even short-lived ones).
  const minted = await api.post("/api/v1/tokens", { data: { name: "child", scopes: ["read"], expiresInDays: 1 } });
  expect(minted.status()).toBe(403);
  expect((await minted.json()).error.message).toMatch(/API tokens cannot create tokens/);

  await page.reload();
  await expect(page.getByText("it will not be shown again")).toHaveCount(0);
  await expect(row).not.toContainText("never used");
  await expect(row).toContainText(/just now|minute/);
  await page.getByRole("button", { name: "Revoke playwright-ci" }).click();
  await expect(row).toContainText("revoked");
  const after = await api.get("/api/v1/me");
  expect(after.status()).toBe(401);
  expect((await after.json()).error.message).toMatch(/revoked/);
  await api.dispose();
});

test("a read-only token reads but cannot change anything", async ({ page, playwright, baseURL }) => {
  await page.goto("/settings/tokens");
  await page.getByLabel("Token name").fill("read-only");
  await page.getByRole("checkbox", { name: "write" }).uncheck();
  await page.getByLabel("Expires in (days)").fill("7");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  const row = page.getByRole("row", { name: /read-only/ });
  await expect(row).not.toContainText("write");
  await expect(row).toContainText("in 7 days");

  const api = await playwright.request.newContext({ baseURL, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  expect((await api.get("/api/v1/tokens")).status()).toBe(200);
  const write = await api.post("/api/v1/flavours", { data: { name: "not-allowed" } });
  expect(write.status()).toBe(403);
  expect((await write.json()).error.message).toMatch(/^This token lacks the write scope/);
  await api.dispose();
});

test("an empty token name, no scope and a lifetime over the maximum are refused with messages", async ({ page }) => {
  await page.goto("/settings/tokens");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(pageAlert(page)).toContainText("name is required");

  await page.getByLabel("Token name").fill("too-long");
  await page.getByLabel("Expires in (days)").fill("400");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(pageAlert(page)).toContainText("expiresInDays must be at most 365 (STRATA_TOKEN_MAX_DAYS)");

  await page.getByLabel("Expires in (days)").fill("30");
  await page.getByRole("checkbox", { name: "read" }).uncheck();
  await page.getByRole("checkbox", { name: "write" }).uncheck();
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(pageAlert(page)).toContainText("choose at least one scope");
  await expect(page.getByRole("row", { name: /too-long/ })).toHaveCount(0);
});

test("a customer cannot read another organisation through the API", async ({ page, playwright, baseURL }) => {
  const anon = await playwright.request.newContext({ baseURL, ignoreHTTPSErrors: true });
  const other = await apiAccount(anon, "other");
  await anon.dispose();

  // The signed-in customer's browser session (cookie) asks for the other organisation.
  const res = await page.request.get(`/api/v1/orgs/${other.orgId}`);
  expect(res.status()).toBe(404);
  expect((await res.json()).error.code).toBe("not_found");
  const mine = await (await page.request.get("/api/v1/me")).json();
  const own = await page.request.get(`/api/v1/orgs/${mine.org.id}`);
  expect(own.status()).toBe(200);
});

test("health and OpenAPI answer", async ({ request }) => {
  const health = await request.get("/api/health");
  expect(health.status()).toBe(200);
  // Anyone may ask; only the one-word status comes back (versions are for admins at /api/v1/admin/health).
  expect(await health.json()).toEqual({ status: expect.stringMatching(/^(ok|degraded)$/) });
  const doc = await (await request.get("/api/v1/openapi.json")).json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/v1/me");
});
