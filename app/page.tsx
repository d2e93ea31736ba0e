import Link from "next/link";
import { redirect } from "next/navigation";
import { currentActor } from "@/lib/auth/current";
import { Logo } from "@/components/logo";

export const dynamic = "force-dynamic";

export default async function Home() {
  if (await currentActor()) redirect("/dashboard");
  return (
    <main className="mx-auto flex min-h-screen max-w-3xl flex-col justify-center px-6">
      <Logo />
      <h1 className="mt-8 text-4xl font-semibold tracking-tight">Your own immutable Linux, built from container images.</h1>
      <p className="mt-4 text-lg text-slate-600">
        Fork the foundation manifest — systemd, dracut, grub and the kernel on Debian — add your package layers in the browser, and press Build.
        Strata builds each package in a container, publishes the repository, pushes the OS image to a registry and delivers it to your devices
        through release channels.
      </p>
      <div className="mt-8 flex gap-3">
        <Link href="/sign-up" className="rounded-md bg-brand-600 px-4 py-2 text-sm font-medium text-white hover:bg-brand-700">
          Create an account
        </Link>
        <Link href="/sign-in" className="rounded-md px-4 py-2 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-white">
          Sign in
        </Link>
      </div>
    </main>
  );
}
