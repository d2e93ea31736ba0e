// The public sign-up: a new organisation and its first customer.
import { z } from "zod";
import { route, uuid } from "../spec";
import { SignUpInput } from "../../auth/sign-up";

export const signUp = route({
  method: "POST",
  path: "/api/v1/sign-up",
  summary: "Create an organisation and its first customer; then sign in with the e-mail and password",
  tags: ["account"],
  role: "public",
  body: SignUpInput,
  response: z.object({ userId: uuid, orgId: uuid, orgSlug: z.string().describe("The organisation's slug, used in image references") }),
  status: 201,
  errors: {
    409: "An account with this e-mail already exists",
    422: "A field is missing or not valid (the password too weak, say)",
    429: "Too many sign-ups from this address (STRATA_SIGN_UP_MAX_PER_ADDRESS an hour); see Retry-After",
  },
});
