/**
 * Cutting text to a platform's length limits without breaking it: never between the two halves
 * of a surrogate pair, and, for marked-up text, never inside a token the platform would misread
 * (the renderer says where it may cut).
 */

/** Plain text cut to at most `max` characters (no markup to respect), marked with `…` when cut. */
export function truncatePlain(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 2);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 2 : max - 1;
  return `${s.slice(0, end)}…`;
}

/** Marked-up text cut to at most `max` characters where `cutIndex` allows, marked with `…` when cut. */
export function truncateMarked(s: string, max: number, cutIndex: (s: string, max: number) => number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, cutIndex(s, max - 1))}…`;
}
