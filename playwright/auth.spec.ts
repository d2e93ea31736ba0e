import { expect, test } from "@playwright/test";
import { PASSWORD, pageAlert, signInInBrowser, signOutInBrowser, signUpInBrowser, uniqueEmail } from "./helpers";

test.describe("signed out", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("sign up, sign out, sign back in", async ({ page }) => {
    const email = uniqueEmail("roundtrip");
    await signUpInBrowser(page, { email, organisation: "Roundtrip Ltd" });
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByRole("heading", { name: /Welcome/ })).toBeVisible();

    await signOutInBrowser(page);
    await page.goto("/dashboard");
    await expect(page).toHaveURL(/\/sign-in/);

    await signInInBrowser(page, email, PASSWORD);
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByTestId("whoami")).toContainText("Roundtrip Ltd");
  });

  test("a wrong password gets a readable message and no session", async ({ page }) => {
    const email = uniqueEmail("wrongpw");
    await signUpInBrowser(page, { email, organisation: "Wrong Password Inc" });
    await signOutInBrowser(page);
    await signInInBrowser(page, email, "Not-The-Password-1");
    await expect(pageAlert(page)).toHaveText("Wrong e-mail or password.");
    await expect(page).toHaveURL(/\/sign-in/);
  });

  test("a weak password and a taken e-mail are refused with messages", async ({ page }) => {
    const email = uniqueEmail("weak");
    await signUpInBrowser(page, { email, organisation: "Weak Co", password: "password" });
    await expect(pageAlert(page)).toContainText("Password must");
    await expect(page).toHaveURL(/\/sign-up/);

    await signUpInBrowser(page, { email, organisation: "Strong Co" });
    await expect(page).toHaveURL(/\/dashboard$/);
    await signOutInBrowser(page);
    await signUpInBrowser(page, { email, organisation: "Copycat Co" });
    await expect(pageAlert(page)).toContainText("already exists");
  });

  test("after signing in, only pages of this site are followed", async ({ page }) => {
    const email = uniqueEmail("redirect");
    await signUpInBrowser(page, { email, organisation: "Redirect Ltd" });
    await signOutInBrowser(page);
    for (const [callbackUrl, expected] of [
      ["//evil.example", /^https:\/\/localhost:\d+\/dashboard$/],
      ["/\\evil.example", /^https:\/\/localhost:\d+\/dashboard$/],
      ["https://evil.example/", /^https:\/\/localhost:\d+\/dashboard$/],
      ["/settings/tokens", /^https:\/\/localhost:\d+\/settings\/tokens$/],
    ] as const) {
      await page.goto(`/sign-in?callbackUrl=${encodeURIComponent(callbackUrl)}`);
      await page.getByLabel("E-mail").fill(email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).toHaveURL(expected);
      await signOutInBrowser(page);
    }
  });

  test("the sign-in page shows its own messages for error codes, never text from the link", async ({ page }) => {
    await page.goto("/sign-in?error=Your+account+is+suspended.+Call+%2B1-555-0100");
    await expect(pageAlert(page)).toHaveText("Sign-in failed. Try again, or sign in with your password.");
    await page.goto("/sign-in?error=OidcUnverified");
    await expect(pageAlert(page)).toContainText("has not verified this e-mail address");
  });

  test("the admin signs in and sees every organisation", async ({ page }) => {
    await signInInBrowser(page, process.env.E2E_ADMIN_EMAIL!, process.env.E2E_ADMIN_PASSWORD!);
    await expect(page).toHaveURL(/\/dashboard$/);
    await page.getByRole("link", { name: "Admin" }).click();
    await expect(page.getByRole("heading", { name: "Admin" })).toBeVisible();
    await expect(page.getByRole("region", { name: "Organisations" }).getByRole("row")).not.toHaveCount(1);
    await expect(page.getByRole("region", { name: "Health" })).toContainText("PostgreSQL");
  });
});

test("a customer is refused from the admin area", async ({ page }) => {
  await page.goto("/dashboard");
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "That area is for administrators" })).toBeVisible();
});
