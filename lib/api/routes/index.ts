// Every route declaration, for the OpenAPI document. A test walks app/api/**/route.ts and fails when a
// route's declaration is missing here (or its path does not match its file).
import type { RouteSpec } from "../spec";
import * as account from "./account";

const modules: Array<Record<string, unknown>> = [account];

const isSpec = (v: unknown): v is RouteSpec => typeof v === "object" && v !== null && "method" in v && "path" in v && "role" in v;

export const allRoutes: RouteSpec[] = modules.flatMap((m) => Object.values(m).filter(isSpec));
