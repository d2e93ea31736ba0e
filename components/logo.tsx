import Link from "next/link";

// The mark is public/logo.svg (also the favicon's source), served as a file so pages and e-mails can use the same one.
export function Logo() {
  return (
    <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight text-slate-900">
      {/* eslint-disable-next-line @next/next/no-img-element -- a 28px SVG: next/image would add nothing but a loader */}
      <img src="/logo.svg" alt="" width={28} height={28} className="h-7 w-7" />
      Strata
    </Link>
  );
}
