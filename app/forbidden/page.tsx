import Link from "next/link";

export const metadata = { title: "Not allowed" };

export default function ForbiddenPage() {
  return (
    <main className="mx-auto max-w-lg px-6 py-24 text-center">
      <h1 className="text-2xl font-semibold">That area is for administrators</h1>
      <p className="mt-3 text-slate-600">Your account is a customer account, so it cannot open the admin area. Ask a platform administrator if you need something there.</p>
      <Link href="/dashboard" className="mt-6 inline-block rounded-md bg-brand-600 px-4 py-2 text-sm font-medium text-white">
        Back to your dashboard
      </Link>
    </main>
  );
}
