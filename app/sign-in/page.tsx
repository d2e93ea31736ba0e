import Link from "next/link";
import { Suspense } from "react";
import { redirect } from "next/navigation";
import { AuthShell } from "@/components/auth/auth-shell";
import { SignInForm } from "@/components/auth/sign-in-form";
import { currentActor } from "@/lib/auth/current";
import { oidcDisplayName } from "@/lib/auth/next-auth";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await currentActor()) redirect("/dashboard");
  const oidcName = oidcDisplayName();
  return (
    <AuthShell
      title="Sign in to Strata"
      footer={
        <>
          New here?{" "}
          <Link href="/sign-up" className="font-medium text-brand-600 hover:underline">
            Create an account
          </Link>
        </>
      }
    >
      <Suspense>
        <SignInForm oidcName={oidcName} />
      </Suspense>
    </AuthShell>
  );
}
