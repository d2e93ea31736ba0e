import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listTokens } from "@/lib/auth/tokens";
import { Card, PageHeader } from "@/components/ui/card";
import { TokensPanel } from "@/components/tokens-panel";

export const metadata = { title: "API tokens" };

export default async function TokensPage() {
  const actor = await requirePageActor();
  const tokens = await listTokens(getDb(), actor);
  return (
    <>
      <PageHeader title="API tokens" description="Personal access tokens act as you in the REST API. They are shown once and stored hashed." />
      <Card>
        <TokensPanel initial={JSON.parse(JSON.stringify(tokens))} />
      </Card>
    </>
  );
}
