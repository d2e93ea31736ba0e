// A failed form request: when the server's issues all belong to fields the form marks itself, a short alert points
// there (the sentence is not said twice); otherwise the full ProblemAlert.
import { Alert } from "./alert";
import { ProblemAlert, issuesOf } from "./problem";

export function FormProblem({ error, fields, title }: { error: unknown; fields: string[]; title: string }) {
  if (error == null) return null;
  const issues = issuesOf(error);
  if (issues.length > 0 && issues.every((i) => fields.includes(i.path)))
    return (
      <Alert tone="error">
        <p className="font-medium">{title}</p>
        <p>Fix the {issues.length === 1 ? "field" : "fields"} marked above and try again.</p>
      </Alert>
    );
  return <ProblemAlert error={error} title={title} />;
}
