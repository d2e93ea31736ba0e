import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { ManifestHeader, PackageDefinition } from "../../manifest/schema";
import { orgs } from "./orgs";
import { users } from "./users";

// Versions of the base manifest. Immutable: a change is a new version.
export const baseManifests = pgTable(
  "base_manifests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    version: text("version").notNull(),
    header: jsonb("header").$type<ManifestHeader>().notNull(),
    packages: jsonb("packages").$type<PackageDefinition[]>().notNull(),
    // The YAML as published, kept for export and for people to read.
    source: text("source").notNull(),
    publishedBy: uuid("published_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("base_manifests_name_version_idx").on(t.name, t.version)],
);

// A customer's derivative: a fork of a base-manifest version plus their layers, owned by an organisation.
export const flavours = pgTable(
  "flavours",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    // [a-z0-9-]: it becomes the repository name of the OS image (<registry>/<org>/<flavour>).
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    /** Rebuild the latest revision from scratch (no cache) every this many days; null = never (the default). */
    scratchRebuildDays: integer("scratch_rebuild_days"),
    /** When the schedule last started a from-scratch build (or was turned on): the next one is due this + the interval. */
    scratchRebuildFrom: timestamp("scratch_rebuild_from", { withTimezone: true }),
    /**
     * The OS image's repository in the registry (<org>/<name> when the flavour was made), fixed for the flavour's life:
     * a rename does not move it, and no other flavour may take it (so nobody pushes over another flavour's images).
     */
    imageRepository: text("image_repository").notNull(),
  },
  (t) => [
    // Names are unique within an organisation (they name images).
    uniqueIndex("flavours_org_name_idx").on(t.orgId, t.name),
    uniqueIndex("flavours_image_repository_idx").on(t.imageRepository),
    // The flavours list of an organisation, most recently changed first, paged by (updated_at, id) (listFlavours).
    index("flavours_org_updated_idx").on(t.orgId, t.updatedAt, t.id),
  ],
);

// Every save of a flavour: append-only, numbered from 1 per flavour.
export const flavourRevisions = pgTable(
  "flavour_revisions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    flavourId: uuid("flavour_id")
      .notNull()
      .references(() => flavours.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    baseManifestId: uuid("base_manifest_id")
      .notNull()
      .references(() => baseManifests.id),
    layers: jsonb("layers").$type<PackageDefinition[]>().notNull(),
    /** Ids ("category/name") of base packages this revision leaves out; none by default. */
    excludedPackages: jsonb("excluded_packages").$type<string[]>().notNull().default([]),
    message: text("message").notNull().default(""),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Revision n of a flavour, and "the latest revision" (order by number desc).
    uniqueIndex("flavour_revisions_flavour_number_idx").on(t.flavourId, t.number),
    // Org-scoped lookups of a revision by id.
    index("flavour_revisions_org_idx").on(t.orgId),
  ],
);

export type BaseManifest = typeof baseManifests.$inferSelect;
export type Flavour = typeof flavours.$inferSelect;
export type FlavourRevision = typeof flavourRevisions.$inferSelect;
