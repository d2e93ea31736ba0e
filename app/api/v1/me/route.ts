import { withApi } from "@/lib/api/with-api";

export const GET = withApi({ role: "customer" }, async ({ actor }) => ({
  user: actor.user,
  org: actor.org,
  via: actor.via,
}));
