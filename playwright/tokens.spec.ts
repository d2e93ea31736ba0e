import { expect, test } from "@playwright/test";
import { apiAccount, pageAlert } from "./helpers";

test("create a token in the browser, call the API with it, revoke it", async ({ page, playwright, baseURL }) => {
  await page.goto("/settings/tokens");
  await page.getByLabel("Token name").fill("playwright-ci");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^strata_pat_/);
  await expect(page.getByText("it will not be shown again")).toBeVisible();

  // A clean client with no cookies: only the bearer token speaks.
  const api = await playwright.request.newContext({ baseURL, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  const me = await api.get("/api/v1/me");
  expect(me.status()).toBe(200);
  expect((await me.json()).via).toBe("token");

  await page.reload();
  await expect(page.getByText("it will not be shown again")).toHaveCount(0);
  await page.getByRole("button", { name: "Revoke playwright-ci" }).click();
  await expect(page.getByRole("row", { name: /playwright-ci/ })).toContainText("revoked");
  const after = await api.get("/api/v1/me");
  expect(after.status()).toBe(401);
  expect((await after.json()).error.message).toMatch(/revoked/);
  await api.dispose();
});

test("an empty token name is refused with a message", async ({ page }) => {
  await page.goto("/settings/tokens");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(pageAlert(page)).toContainText("name is required");
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
  expect((await health.json()).database.ok).toBe(true);
  const doc = await (await request.get("/api/v1/openapi.json")).json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/me");
});
