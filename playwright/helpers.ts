import crypto from "node:crypto";
import { expect, type APIRequestContext, type Browser, type Page, type TestInfo } from "@playwright/test";

export const PASSWORD = "Granite-Falcon-42!";
export const uniqueEmail = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;
export const CUSTOMER_FILE = ".data/test/playwright-customer-account.json";

export async function signUpInBrowser(page: Page, opts: { email: string; organisation: string; name?: string; password?: string }) {
  await page.goto("/sign-up");
  await page.getByLabel("Your name").fill(opts.name ?? "Playwright Tester");
  await page.getByLabel("Organisation").fill(opts.organisation);
  await page.getByLabel("E-mail").fill(opts.email);
  await page.getByLabel("Password").fill(opts.password ?? PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
}

export async function signInInBrowser(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A second organisation made through the public API, with a token of its own. */
export async function apiAccount(request: APIRequestContext, tag: string) {
  const email = uniqueEmail(tag);
  const signUp = await request.post("/api/v1/sign-up", { data: { email, name: tag, organisation: `${tag} org`, password: PASSWORD } });
  if (signUp.status() !== 201) throw new Error(`sign-up failed: ${signUp.status()} ${await signUp.text()}`);
  return { email, ...(await signUp.json()) } as { email: string; userId: string; orgId: string; orgSlug: string };
}

/**
 * The page's own alert. Next.js also renders a role=alert route announcer, empty until a client-side navigation makes
 * it announce the page title ("Devices · Strata"); it is not the page's alert.
 */
export const pageAlert = (page: Page) => page.locator('[role="alert"]:not(#__next-route-announcer__)').filter({ hasText: /\S/ });

export async function signOutInBrowser(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
}

/** A package layer as the tests save it through the API (the fields they use of a package definition). */
export interface Layer {
  category: string;
  name: string;
  version: string;
  requires?: string[];
  steps: string[];
}

/**
 * As the admin, in a browser context of its own (the customer's session stays untouched): publishes a base manifest
 * of one tiny package (strata-base would build a kernel) and returns its id.
 */
export async function publishTinyBase(browser: Browser, testInfo: TestInfo, opts: { name: string; version: string; description: string; step: string }): Promise<string> {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, ignoreHTTPSErrors: true, storageState: { cookies: [], origins: [] } });
  try {
    const page = await context.newPage();
    await signInInBrowser(page, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
    await expect(page).toHaveURL(/\/dashboard$/);
    const yaml = [
      `name: ${opts.name}`,
      `version: "${opts.version}"`,
      "base_image: strata/debian:bookworm",
      `description: ${opts.description}`,
      "packages:",
      "  - category: system",
      "    name: hello",
      '    version: "1"',
      "    steps:",
      `      - ${opts.step}`,
      "",
    ].join("\n");
    const res = await context.request.post("/api/v1/base-manifests", { data: { yaml } });
    expect(res.status(), await res.text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  } finally {
    await context.close();
  }
}

/** Presses Build on the flavour's builds page and waits for the build to succeed; returns to nothing, stays on the build page. */
export async function buildAndWait(page: Page, flavourId: string) {
  await page.goto(`/flavours/${flavourId}/builds`);
  await page.getByRole("button", { name: "Build", exact: true }).click();
  await expect(page).toHaveURL(/\/builds\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("build-status")).toHaveText("Succeeded", { timeout: 150_000 });
}

/** The admin signed in, in a browser context of its own (the customer's session stays untouched); close it after. */
export async function adminPage(browser: Browser, testInfo: TestInfo): Promise<Page> {
  const context = await browser.newContext({ baseURL: testInfo.project.use.baseURL, ignoreHTTPSErrors: true, storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await signInInBrowser(page, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
  await expect(page).toHaveURL(/\/dashboard$/);
  return page;
}

export const uniqueName = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Forks the bundled strata-base (other specs publish small base manifests of their own) from the flavours page, as a
 * customer would, and returns the new flavour's id.
 */
export async function forkBundledBase(page: Page, name: string, opts: { description?: string } = {}): Promise<string> {
  await page.goto("/flavours");
  const form = page.getByRole("form", { name: "Fork base manifest" });
  const bundled = await form.getByRole("option", { name: /^strata-base 1\b/ }).textContent();
  await form.getByLabel("Base manifest version").selectOption({ label: bundled! });
  await form.getByLabel("Flavour name").fill(name);
  if (opts.description) await form.getByLabel("Description").fill(opts.description);
  await form.getByRole("button", { name: "Fork" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return page.url().split("/flavours/")[1].split(/[?#]/)[0];
}
