import { getDb } from "@/lib/db";
import { config } from "@/lib/config";
import { requirePageActor } from "@/lib/auth/current";
import { isAdmin } from "@/lib/auth/roles";
import { DEFAULT_TOKEN_DAYS, listTokens } from "@/lib/auth/tokens";
import { Card, PageHeader } from "@/components/ui/card";
import { TokensPanel } from "@/components/tokens-panel";

export const metadata = { title: "API tokens" };

export default async function TokensPage() {
  const actor = await requirePageActor();
  const tokens = await listTokens(getDb(), actor);
  const maxDays = config.tokenMaxDays;
  return (
    <>
      <PageHeader
        title="API tokens"
        description="Personal access tokens act as you in the REST API, within the scopes you give them. They are shown once, stored hashed, and expire."
      />
      <Card>
        <TokensPanel initial={JSON.parse(JSON.stringify(tokens))} isAdmin={isAdmin(actor)} maxDays={maxDays} defaultDays={Math.min(DEFAULT_TOKEN_DAYS, maxDays)} />
      </Card>
    </>
  );
}
