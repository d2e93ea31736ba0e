// Single sign-on through a real OpenID Connect provider (oidc-provider, run here on 127.0.0.1 at the OIDC_ISSUER that
// scripts/test.ts gives the web server) and the web server's own next-auth: identities link by (issuer, subject) only.
import http from "node:http";
import crypto from "node:crypto";
import pg from "pg";
import Provider from "oidc-provider";
import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, pageAlert, signInInBrowser, signOutInBrowser, signUpInBrowser, uniqueEmail } from "./helpers";

const issuer = process.env.OIDC_ISSUER;
const baseURL = process.env.BASE_URL ?? "https://localhost:3543";

/** The provider's people, by subject; each test adds its own. The login form of the provider takes the subject. */
const people = new Map<string, { email: string; email_verified: boolean; name: string }>();
let server: http.Server | undefined;
let db: pg.Pool | undefined;

test.use({ storageState: { cookies: [], origins: [] } });
test.skip(!issuer || !process.env.DATABASE_URL, "needs the OIDC_ISSUER and DATABASE_URL of the test server (npx tsx scripts/test.ts browser)");

test.beforeAll(async () => {
  const provider = new Provider(issuer!, {
    clients: [
      {
        client_id: process.env.OIDC_CLIENT_ID!,
        client_secret: process.env.OIDC_CLIENT_SECRET!,
        redirect_uris: [`${baseURL}/api/auth/callback/oidc`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // Like most providers, put the e-mail claims in the ID token (next-auth reads the ID token).
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const person = people.get(sub);
      if (!person) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...person }) };
    },
    // Strata is a first-party client here: no consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope("openid email profile");
      grant.addOIDCClaims(["email", "email_verified", "name"]);
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (_ctx, err) => console.error("[oidc-provider]", err));
  const port = Number(new URL(issuer!).port);
  server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => server!.once("error", reject).listen(port, "127.0.0.1", resolve));
  db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
});

test.afterAll(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await db?.end();
});

const newSubject = () => `person-${crypto.randomUUID()}`;

async function signInWithProvider(page: Page, subject: string) {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Continue with Test IdP" }).click();
  // The provider's own (development) login page: the login is the subject; any password.
  await page.getByPlaceholder("Enter any login").fill(subject);
  await page.getByPlaceholder("and password").fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

const usersWithEmail = async (email: string) => (await db!.query("select id, org_id from users where email = $1", [email])).rows;
const identitiesOf = async (subject: string) => (await db!.query("select user_id, email from accounts where issuer = $1 and subject = $2", [issuer, subject])).rows;

test("a verified new identity gets its own organisation, and keeps its user when its e-mail changes", async ({ page }) => {
  const subject = newSubject();
  const email = uniqueEmail("sso");
  people.set(subject, { email, email_verified: true, name: "Sso Person" });
  await signInWithProvider(page, subject);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("whoami")).toContainText(email);
  await expect(page.getByTestId("whoami")).toContainText("Sso Person's organisation");
  const [user] = await usersWithEmail(email);
  expect(await identitiesOf(subject)).toEqual([{ user_id: user.id, email }]);

  // The provider now gives another address: the identity still signs in as the same user, in the same organisation.
  await signOutInBrowser(page);
  // Out of the provider too, so it asks for the login again.
  await page.context().clearCookies();
  const newEmail = uniqueEmail("sso-moved");
  people.set(subject, { email: newEmail, email_verified: true, name: "Sso Person" });
  await signInWithProvider(page, subject);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("whoami")).toContainText(email);
  expect(await usersWithEmail(newEmail)).toEqual([]);
  expect((await identitiesOf(subject))[0].user_id).toBe(user.id);
});

test("an unverified e-mail is refused with a message, and no user is made", async ({ page }) => {
  const subject = newSubject();
  const email = uniqueEmail("unverified");
  people.set(subject, { email, email_verified: false, name: "Not Verified" });
  await signInWithProvider(page, subject);
  await expect(page).toHaveURL(/\/sign-in\?error=OidcUnverified/);
  await expect(pageAlert(page)).toContainText("has not verified this e-mail address");
  expect(await usersWithEmail(email)).toEqual([]);
  expect(await identitiesOf(subject)).toEqual([]);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in/);
});

test("a provider account claiming the admin's e-mail is refused and not signed in as the admin", async ({ page }) => {
  const subject = newSubject();
  people.set(subject, { email: process.env.E2E_ADMIN_EMAIL!, email_verified: true, name: "Not The Admin" });
  await signInWithProvider(page, subject);
  await expect(page).toHaveURL(/\/sign-in\?error=OidcEmailTaken/);
  await expect(pageAlert(page)).toContainText("An account with this e-mail already exists; sign in with your password");
  expect(await identitiesOf(subject)).toEqual([]);
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/sign-in/);
  const me = await page.request.get("/api/v1/me");
  expect(me.status()).toBe(401);
});

test("an identity with the e-mail of an earlier password sign-up is not linked to it", async ({ page }) => {
  const email = uniqueEmail("squatter");
  await signUpInBrowser(page, { email, organisation: "Password First Ltd" });
  await expect(page).toHaveURL(/\/dashboard$/);
  await signOutInBrowser(page);

  const subject = newSubject();
  people.set(subject, { email, email_verified: true, name: "Real Owner" });
  await signInWithProvider(page, subject);
  await expect(page).toHaveURL(/\/sign-in\?error=OidcEmailTaken/);
  await expect(pageAlert(page)).toContainText("sign in with your password");
  expect(await identitiesOf(subject)).toEqual([]);
  expect(await usersWithEmail(email)).toHaveLength(1);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in/);

  // The password account is untouched.
  await signInInBrowser(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("whoami")).toContainText("Password First Ltd");
});
