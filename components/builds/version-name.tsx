// A build's version with what its name means — r2.1 is revision 2, build 1 — wherever a version is shown (server- and client-safe).
import { explainVersion } from "@/lib/builds/version-name";

/** The version, whose meaning shows on hover; give the meaning as visible text too (VersionMeaning) where there is room. */
export function VersionName({ version, className = "" }: { version: string; className?: string }) {
  const meaning = explainVersion(version);
  if (!meaning) return <span className={`font-mono ${className}`}>{version}</span>;
  return (
    <abbr title={meaning} className={`cursor-help font-mono decoration-slate-400 decoration-dotted ${className}`}>
      {version}
    </abbr>
  );
}

/** "revision 2, build 1" as text, with an id for aria-describedby; falls back to the revision number for a version named otherwise. */
export function VersionMeaning({ id, version, revisionNumber, className = "" }: { id: string; version: string; revisionNumber: number; className?: string }) {
  return (
    <span id={id} className={className}>
      {explainVersion(version) ?? `revision ${revisionNumber}`}
    </span>
  );
}
