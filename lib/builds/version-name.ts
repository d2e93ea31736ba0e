// How a build's version is named: r<revision>.<n-th build of that revision>, e.g. r2.1 — the image tag and the
// VERSION in /etc/os-release. The pages explain the name wherever they show it.

export const versionName = (revision: number, nthBuild: number) => `r${revision}.${nthBuild}`;

/** "r2.1" → "revision 2, build 1"; null for a version not named by versionName. */
export function explainVersion(version: string): string | null {
  const match = /^r(\d+)\.(\d+)(?:-import\.(\d+))?$/.exec(version);
  if (!match) return null;
  const build = `revision ${Number(match[1])}, build ${Number(match[2])}`;
  // r1.1-import.2: the second image made by hand from build r1.1 and imported (lib/builds/import.ts).
  return match[3] ? `import ${Number(match[3])} of ${build}, made by hand` : build;
}
