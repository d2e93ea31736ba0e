// Shows a failed request readably: the server's sentence, then each field path with its message (and line, for YAML).
import { Alert } from "./alert";
import { ApiError } from "./api";

export interface Issue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** Issue paths arrive as "layers[2].name" from most endpoints and as ["packages", 0] (raw zod) from a few. */
export function issuePath(path: unknown): string {
  if (Array.isArray(path))
    return path.reduce<string>((out, seg) => (typeof seg === "number" ? `${out}[${seg}]` : out ? `${out}.${String(seg)}` : String(seg)), "");
  return typeof path === "string" ? path : "";
}

export function issuesOf(error: unknown): Issue[] {
  if (!(error instanceof ApiError)) return [];
  const raw = (error.details?.issues ?? []) as Array<{ path?: unknown; message?: unknown; line?: unknown; column?: unknown }>;
  return raw
    .filter((i) => typeof i?.message === "string")
    .map((i) => ({
      path: issuePath(i.path),
      message: String(i.message),
      line: typeof i.line === "number" ? i.line : undefined,
      column: typeof i.column === "number" ? i.column : undefined,
    }));
}

export function describeIssue(issue: Issue): string {
  const where = [issue.line ? `line ${issue.line}` : "", issue.path].filter(Boolean).join(", ");
  return where ? `${where}: ${issue.message}` : issue.message;
}

/** The message of any thrown value, for an Alert. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return "Something went wrong; try again.";
}

export function ProblemAlert({ error, title }: { error: unknown; title?: string }) {
  const issues = issuesOf(error);
  return (
    <Alert tone="error">
      {title && <p className="font-medium">{title}</p>}
      <p>{messageOf(error)}</p>
      {issues.length > 1 && (
        <ul className="mt-1 list-disc space-y-0.5 pl-5">
          {issues.slice(0, 20).map((issue, i) => (
            <li key={i}>
              {issue.path && <code className="font-mono text-xs">{issue.path}</code>}
              {issue.path && " — "}
              {issue.message}
              {issue.line ? ` (line ${issue.line})` : ""}
            </li>
          ))}
        </ul>
      )}
    </Alert>
  );
}
