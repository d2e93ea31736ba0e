import Link from "next/link";

export function Logo() {
  return (
    <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight text-slate-900">
      <span aria-hidden className="grid h-7 w-7 place-items-center rounded-md bg-brand-600 text-xs font-bold text-white">
        S
      </span>
      Strata
    </Link>
  );
}
