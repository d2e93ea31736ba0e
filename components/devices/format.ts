// Small formatters the channel, device and audit views share (plain functions: server and client components).

const relative = new Intl.RelativeTimeFormat("en-GB", { numeric: "auto" });

const STEPS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Infinity],
];

/** "5 minutes ago", "yesterday", "in 3 days": how long ago (or until) a moment is, no more precise than a person needs. */
export function formatAgo(at: Date | string, now: number = Date.now()): string {
  let value = (new Date(at).getTime() - now) / 1000;
  if (Math.abs(value) < 10) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return relative.format(Math.round(value), "year");
}

/** "12 Mar 2025, 14:05": an absolute moment, for tables and titles. */
export const formatWhen = (at: Date | string) => new Date(at).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });


export const resultTone = (result: string | null) => (result === "success" ? "emerald" : result === "failure" ? "red" : "slate") as "emerald" | "red" | "slate";
