// Parsing input at the edge: one place that turns zod failures into a ValidationError naming each field.
import type { z } from "zod";
import { ValidationError, describeZodIssues } from "./errors";

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: fieldPath(i.path), message: i.message }));
    throw new ValidationError(describeZodIssues(result.error.issues), { issues });
  }
  return result.data;
}

/** `users[0].authorizedKeys[1]`: the form people read and forms match against. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, seg) => (typeof seg === "number" ? `${out}[${seg}]` : out ? `${out}.${String(seg)}` : String(seg)), "");
}
