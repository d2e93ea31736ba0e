import Link from "next/link";
import { redirect } from "next/navigation";
import { AuthShell } from "@/components/auth/auth-shell";
import { SignUpForm } from "@/components/auth/sign-up-form";
import { currentActor } from "@/lib/auth/current";

export const dynamic = "force-dynamic";
export const metadata = { title: "Create an account" };

export default async function SignUpPage() {
  if (await currentActor()) redirect("/dashboard");
  return (
    <AuthShell
      title="Create your organisation"
      footer={
        <>
          Already have an account?{" "}
          <Link href="/sign-in" className="font-medium text-brand-600 hover:underline">
            Sign in
          </Link>
        </>
      }
    >
      <SignUpForm />
    </AuthShell>
  );
}
