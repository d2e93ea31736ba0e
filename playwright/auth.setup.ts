// Signs a fresh customer up through the browser once and saves the session for the other specs.
import fs from "node:fs";
import { expect, test as setup } from "@playwright/test";
import { CUSTOMER_FILE, PASSWORD, signUpInBrowser, uniqueEmail } from "./helpers";

setup("sign up a customer", async ({ page }) => {
  const email = uniqueEmail("customer");
  await signUpInBrowser(page, { email, organisation: `Acme ${email.slice(9, 17)}` });
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("whoami")).toContainText(email);
  fs.writeFileSync(CUSTOMER_FILE, JSON.stringify({ email, password: PASSWORD }));
  await page.context().storageState({ path: ".data/test/playwright-customer.json" });
});
