// The includes/excludes patterns of a package: RE2 regular expressions, matched in time linear in the path, so no
// pattern (and no crafted path) can hold a worker. Shared by the schema (refused at save time) and the builder.
import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";

/** A pattern longer than this is refused: a path filter is a line, not a program. */
export const MAX_PATTERN_CHARS = 1000;
/**
 * RE2 instructions one pattern may compile to, and all of one package's patterns together. Matching costs about
 * (instructions × path length) at worst, so these bound the time one entry of a layer can take (measured: under
 * a second for a 50 000-character path at 1000): `.{900}` fits, `[a-z]{600}[0-9]{600}` does not. Ordinary patterns
 * (`^/var/cache/`) take a dozen.
 */
export const MAX_PATTERN_PROGRAM = 1000;
export const MAX_PACKAGE_PATTERN_PROGRAM = 2000;

export type PatternKey = "includes" | "excludes";

/** A refused pattern: "invalid" does not parse; "unsupported" parses but cannot be matched safely. */
export type CompiledPattern = { ok: true; matcher: RE2JS; programSize: number } | { ok: false; kind: "invalid" | "unsupported"; reason: string };

/**
 * What JavaScript (and PCRE) regexes allow and RE2 cannot match in linear time. Found by a scan of our own, so the
 * message names the construct; RE2 alone would call `(?<=a)` an "invalid named capture".
 */
function unsupportedConstruct(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(next) || (next === "k" && pattern[i + 2] === "<"))) {
        return "backreferences (\\1, \\k<name>) cannot be matched in linear time; spell out the text they would repeat";
      }
      i++;
    } else if (inClass) {
      if (ch === "]") inClass = false;
    } else if (ch === "[") {
      inClass = true;
      // A "]" right after "[" or "[^" is a literal member, not the end of the class.
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
    } else if (pattern.startsWith("(?=", i) || pattern.startsWith("(?!", i)) {
      return "lookahead ((?=…), (?!…)) cannot be matched in linear time; use a second includes or excludes pattern instead";
    } else if (pattern.startsWith("(?<=", i) || pattern.startsWith("(?<!", i)) {
      return "lookbehind ((?<=…), (?<!…)) cannot be matched in linear time; use a second includes or excludes pattern instead";
    }
  }
  return null;
}

/** Compiles one includes/excludes pattern with RE2, or says why it is refused. */
export function compilePathPattern(pattern: string): CompiledPattern {
  if (pattern.length > MAX_PATTERN_CHARS) {
    return { ok: false, kind: "unsupported", reason: `it is ${pattern.length} characters long, more than the ${MAX_PATTERN_CHARS} allowed; match a shorter part of the path` };
  }
  const construct = unsupportedConstruct(pattern);
  if (construct) return { ok: false, kind: "unsupported", reason: construct };
  let matcher: RE2JS;
  try {
    matcher = RE2JS.compile(pattern);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) {
      const where = err.input && err.input !== pattern ? ` at \`${err.input}\`` : "";
      return { ok: false, kind: "invalid", reason: `${err.error}${where}` };
    }
    if (err instanceof RE2JSException) return { ok: false, kind: "invalid", reason: err.message };
    throw err;
  }
  const programSize = matcher.programSize();
  if (programSize > MAX_PATTERN_PROGRAM) {
    return { ok: false, kind: "unsupported", reason: `it compiles to ${programSize} instructions, more than the ${MAX_PATTERN_PROGRAM} allowed; use smaller repeat counts or split it into several patterns` };
  }
  return { ok: true, matcher, programSize };
}

type Verdict = { ok: true; programSize: number } | { ok: false; kind: "invalid" | "unsupported"; reason: string };
/**
 * Verdicts of patterns already judged: the schema runs on every parse of a manifest (and of each package when its
 * cache key is computed), and the same few patterns recur in all of them. Only the verdict is kept, not the
 * compiled matcher and the match cache it grows.
 */
const verdicts = new Map<string, Verdict>();
const MAX_VERDICTS = 2000;

function judge(pattern: string): Verdict {
  let verdict = verdicts.get(pattern);
  if (!verdict) {
    const compiled = compilePathPattern(pattern);
    verdict = compiled.ok ? { ok: true, programSize: compiled.programSize } : compiled;
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(pattern, verdict);
  }
  return verdict;
}

/** A pattern as a message quotes it: long ones are cut. */
function quoted(pattern: string): string {
  return `"${pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern}"`;
}

/** The message for one refused pattern, naming the package, the list and the pattern. */
export function patternMessage(packageId: string, key: PatternKey, pattern: string, refused: { kind: "invalid" | "unsupported"; reason: string }): string {
  const what = refused.kind === "invalid" ? "is not a valid regular expression (RE2 syntax)" : "is not supported";
  return `${packageId}: ${key} pattern ${quoted(pattern)} ${what}: ${refused.reason}`;
}

export interface PatternProblem {
  key: PatternKey;
  /** Index in the list; undefined when the list as a whole is at fault. */
  index?: number;
  message: string;
}

/**
 * Every problem of a package's includes/excludes, each message naming the package and the pattern, e.g.
 * `layer/x: excludes pattern "(a)\1" is not supported: backreferences … cannot be matched in linear time; …`.
 */
export function pathPatternProblems(packageId: string, lists: { includes?: readonly string[]; excludes?: readonly string[] }): PatternProblem[] {
  const problems: PatternProblem[] = [];
  let total = 0;
  let last: PatternKey | null = null;
  for (const key of ["includes", "excludes"] as const) {
    for (const [index, pattern] of (lists[key] ?? []).entries()) {
      const compiled = judge(pattern);
      if (compiled.ok) {
        total += compiled.programSize;
        last = key;
      } else {
        problems.push({ key, index, message: patternMessage(packageId, key, pattern, compiled) });
      }
    }
  }
  if (total > MAX_PACKAGE_PATTERN_PROGRAM && last) {
    problems.push({
      key: last,
      message: `${packageId}: the includes and excludes patterns compile to ${total} instructions together, more than the ${MAX_PACKAGE_PATTERN_PROGRAM} allowed; use fewer or simpler patterns`,
    });
  }
  return problems;
}
