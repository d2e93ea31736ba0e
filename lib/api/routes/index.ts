// Every route declaration, for the OpenAPI document. A test walks app/api/**/route.ts and fails when a
// route's declaration is missing here (or its path does not match its file).
import type { RouteSpec } from "../spec";
import * as account from "./account";
import * as builds from "./builds";
import * as diskImages from "./disk-images";
import * as channels from "./channels";
import * as devices from "./devices";
import * as releases from "./releases";
import * as registrationTokens from "./registration-tokens";
import * as lists from "./lists";
import * as flavours from "./flavours";
import * as repository from "./repository";
import * as artefacts from "./artefacts";
import * as baseManifests from "./base-manifests";
import * as catalog from "./catalog";
import * as manifests from "./manifests";
import * as orgs from "./orgs";
import * as admin from "./admin";
import * as tokens from "./tokens";
import * as signUp from "./sign-up";
import * as health from "./health";

const modules: Array<Record<string, unknown>> = [account, lists, builds, diskImages, channels, devices, releases, registrationTokens, flavours, repository, artefacts, baseManifests, catalog, manifests, orgs, admin, tokens, signUp, health];

const isSpec = (v: unknown): v is RouteSpec => typeof v === "object" && v !== null && "method" in v && "path" in v && "role" in v;

export const allRoutes: RouteSpec[] = modules.flatMap((m) => Object.values(m).filter(isSpec));
