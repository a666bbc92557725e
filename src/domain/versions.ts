/**
 * Version policy: parsing, ordering, and the "at most 2 major versions per step" rule of [002].
 */

/** A parsed release version; missing minor/patch parts are 0. */
export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** The largest major-version jump allowed in one upgrade step [002]. */
export const MAX_MAJOR_JUMP = 2;

/** Reads "7", "7.1", "7.1.0" or "v7.1.0" (missing parts are 0); null when it is not a version. */
export function parseVersion(v: string): Version | null {
  const m = /^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?$/i.exec(v.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0) };
}

/** Parses or throws: callers of the comparison helpers must pass real versions. */
function mustParse(v: string): Version {
  const parsed = parseVersion(v);
  if (!parsed) throw new Error(`Not a version: "${v}" (expected e.g. 7.1.0)`);
  return parsed;
}

/** Orders two parsed versions: negative when a < b, 0 when equal, positive when a > b. */
function compareParsed(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Orders two versions (negative, 0, positive); "7.1" equals "7.1.0". Throws on unparsable input. */
export function compareVersions(a: string, b: string): number {
  return compareParsed(mustParse(a), mustParse(b));
}

/** How many major versions `to` is above `from` (negative for a downgrade). Throws on unparsable input. */
export function majorJump(from: string, to: string): number {
  return mustParse(to).major - mustParse(from).major;
}

/** Sorts version strings ascending; unparsable ones are dropped. */
export function sortVersions(versions: readonly string[]): string[] {
  return versions
    .map((text) => ({ text, v: parseVersion(text) }))
    .filter((x): x is { text: string; v: Version } => x.v !== null)
    .sort((a, b) => compareParsed(a.v, b.v))
    .map((x) => x.text);
}

/**
 * The consecutive step targets from `from` to `to` (each at most MAX_MAJOR_JUMP majors above the
 * previous), taking the highest version of `available` reachable at each step and ending with `to`;
 * [to] when the jump is already allowed (downgrades included); null when no path exists or a version is unparsable.
 */
export function stepPath(from: string, to: string, available: readonly string[]): string[] | null {
  const start = parseVersion(from);
  const goal = parseVersion(to);
  if (!start || !goal) return null;
  if (goal.major - start.major <= MAX_MAJOR_JUMP) return [to];
  const candidates = available
    .map((text) => ({ text, v: parseVersion(text) }))
    .filter((x): x is { text: string; v: Version } => x.v !== null && compareParsed(x.v, goal) < 0)
    .sort((a, b) => compareParsed(a.v, b.v));
  const steps: string[] = [];
  let current = start;
  while (goal.major - current.major > MAX_MAJOR_JUMP) {
    const limit = current.major + MAX_MAJOR_JUMP;
    const here = current;
    let next: { text: string; v: Version } | undefined;
    for (const c of candidates) {
      if (compareParsed(c.v, here) > 0 && c.v.major <= limit) next = c; // ascending: the last hit is the highest
    }
    if (!next) return null;
    steps.push(next.text);
    current = next.v;
  }
  steps.push(to);
  return steps;
}
