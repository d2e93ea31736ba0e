// Repository revisions: what every successful build published about its packages, and the file index of every
// artefact (searched and listed in PostgreSQL, never by scanning JSON in Node).
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { ArtefactFileType } from "../../builder/extract/filter";
import type { PackageDefinition } from "../../manifest/schema";
import { orgs } from "./orgs";
import { flavours } from "./manifests";
import { artefacts, builds } from "./builds";

// One immutable revision of a flavour's repository, published by one build (numbered per flavour).
export const repositoryRevisions = pgTable(
  "repository_revisions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    flavourId: uuid("flavour_id")
      .notNull()
      .references(() => flavours.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    /** The exact bytes of the index (the OCI artifact's config): served as they are, so their sha256 holds. */
    index: text("index").notNull(),
    /** "sha256:…" of `index`. */
    indexDigest: text("index_digest").notNull(),
    /** "<public registry>/<org>/<flavour>-repo:<number>". */
    reference: text("reference").notNull(),
    /** "sha256:…" of the artifact manifest in the registry. */
    manifestDigest: text("manifest_digest").notNull(),
    packageCount: integer("package_count").notNull(),
    fileCount: integer("file_count").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    uncompressedSize: bigint("uncompressed_size", { mode: "number" }).notNull(),
    debianPackageCount: integer("debian_package_count").notNull(),
    /**
     * Cache key of the last package: it names the image the Debian packages were read from, so another build ending in
     * the same key (any flavour, any organisation) reuses the list instead of opening the image again.
     */
    imageKey: text("image_key"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Numbering and addressing a revision by flavour and number.
    uniqueIndex("repository_revisions_flavour_number_idx").on(t.flavourId, t.number),
    // One revision per build: a retried publish cannot make a second.
    uniqueIndex("repository_revisions_build_idx").on(t.buildId),
    // The Debian packages of an image already read: knownDebianPackages.
    index("repository_revisions_image_key_idx").on(t.imageKey),
  ],
);

// The packages of a revision, in build order. The artefact row cannot be deleted while a revision references it.
export const repositoryPackages = pgTable(
  "repository_packages",
  {
    revisionId: uuid("revision_id")
      .notNull()
      .references(() => repositoryRevisions.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    category: text("category").notNull(),
    name: text("name").notNull(),
    version: text("version").notNull(),
    requires: jsonb("requires").$type<string[]>().notNull(),
    fromBase: boolean("from_base").notNull(),
    artefactDigest: text("artefact_digest")
      .notNull()
      .references(() => artefacts.digest, { onDelete: "restrict" }),
    cacheKey: text("cache_key").notNull(),
    cached: boolean("cached").notNull(),
    buildMs: integer("build_ms"),
    definition: jsonb("definition").$type<PackageDefinition>().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.revisionId, t.position] }),
    // A package page: revision + category/name.
    uniqueIndex("repository_packages_name_idx").on(t.revisionId, t.category, t.name),
    // "Which revisions reference this artefact?" (download authorisation, garbage rules).
    index("repository_packages_artefact_idx").on(t.artefactDigest),
  ],
);

// The Debian packages installed in a revision's image (its dpkg status at build time).
export const repositoryDebianPackages = pgTable(
  "repository_debian_packages",
  {
    revisionId: uuid("revision_id")
      .notNull()
      .references(() => repositoryRevisions.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    architecture: text("architecture").notNull(),
    version: text("version").notNull(),
    source: text("source"),
    sourceVersion: text("source_version"),
    license: text("license"),
    homepage: text("homepage"),
  },
  (t) => [
    primaryKey({ columns: [t.revisionId, t.name, t.architecture] }),
    // Licences already read for a package version (knownDebianLicenses), so its copyright file is not read again.
    index("repository_debian_packages_version_idx").on(t.name, t.architecture, t.version),
  ],
);

// Every entry of every artefact, once per artefact (artefacts are shared by all revisions and organisations that
// contain them). The primary key serves a package's file list in path order and, with the revision's artefact
// digests, the search "which package ships this path?".
export const artefactFiles = pgTable(
  "artefact_files",
  {
    artefactDigest: text("artefact_digest")
      .notNull()
      .references(() => artefacts.digest, { onDelete: "cascade" }),
    path: text("path").notNull(),
    type: text("type").$type<ArtefactFileType>().notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    mode: integer("mode").notNull(),
    target: text("target"),
    /** "sha256:…" of a regular file's content; null for other types and for artefacts extracted before it was recorded. */
    sha256: text("sha256"),
  },
  (t) => [primaryKey({ columns: [t.artefactDigest, t.path] })],
);

export type RepositoryRevisionRow = typeof repositoryRevisions.$inferSelect;
export type RepositoryPackageRow = typeof repositoryPackages.$inferSelect;
