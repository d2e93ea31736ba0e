// Browser tests against the real web server and worker that `npm test` starts (scripts/test.ts), on Debian's Chromium.
import { defineConfig, devices } from "@playwright/test";

const baseURL = process.env.BASE_URL ?? "https://localhost:3543";

export default defineConfig({
  testDir: "./playwright",
  outputDir: ".data/test/playwright-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    // API calls made with the signed-in session (page.request) say where they come from, as the portal's own fetches
    // do: the API refuses cookie-signed writes without a same-origin Origin (CSRF).
    extraHTTPHeaders: { origin: new URL(baseURL).origin },
    ignoreHTTPSErrors: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
    },
  },
  projects: [
    { name: "setup", testMatch: /auth\.setup\.ts/ },
    { name: "chromium", use: { ...devices["Desktop Chrome"], storageState: ".data/test/playwright-customer.json" }, dependencies: ["setup"] },
  ],
});
