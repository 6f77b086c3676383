// Searching a job's log: every place the query occurs in the lines held, in order, and the
// pieces a row is drawn in so that each occurrence is marked. The search looks at the text
// as it reads (escape sequences left out) and ignores case unless the query has a capital
// letter ("smart case", as less and most editors do). The matches found are capped so that a
// one-letter query on 200,000 lines stays cheap; the count says when there are more.
//
// Pure TypeScript: no DOM, no React.

import type { AnsiSegment, AnsiStyle } from "./ansi";

/** The most matches a search keeps (the count reads "10,000+" beyond). */
export const MAX_MATCHES = 10_000;

export interface LogMatch {
  /** Which line: its position among the lines held, and its number. */
  readonly index: number;
  readonly seq: number;
  /** Where in the line's visible text (UTF-16 offsets, end exclusive). */
  readonly start: number;
  readonly end: number;
}

export interface SearchResult {
  readonly matches: readonly LogMatch[];
  /** More matches exist than `matches` holds. */
  readonly capped: boolean;
}

export const NO_MATCHES: SearchResult = Object.freeze({ matches: Object.freeze([]) as readonly LogMatch[], capped: false });

/** Whether the search tells capitals apart: when the query has one. */
export function isCaseSensitive(query: string): boolean {
  return query !== query.toLowerCase();
}

/** The pattern that finds `query` literally (case as `isCaseSensitive` says), keeping offsets. */
export function matcherOf(query: string): RegExp {
  const literal = query.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  return new RegExp(literal, isCaseSensitive(query) ? "gu" : "giu");
}

/** Where `query` occurs in `text`, without overlaps, left to right. */
export function rangesIn(text: string, query: string | RegExp): [number, number][] {
  if (query === "") return [];
  const pattern = typeof query === "string" ? matcherOf(query) : query;
  pattern.lastIndex = 0;
  const found: [number, number][] = [];
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    found.push([match.index, match.index + match[0].length]);
  }
  return found;
}

/** Every occurrence of `query` in the lines, in order, up to `limit`. */
export function findMatches(
  lines: readonly { readonly seq: number; readonly plain: string }[],
  query: string,
  limit: number = MAX_MATCHES,
): SearchResult {
  if (query === "") return NO_MATCHES;
  const pattern = matcherOf(query);
  const matches: LogMatch[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line === undefined) continue;
    for (const [start, end] of rangesIn(line.plain, pattern)) {
      if (matches.length === limit) return { matches, capped: true };
      matches.push({ index, seq: line.seq, start, end });
    }
  }
  return { matches, capped: false };
}

/** "3 of 17", "10,000+ matches", "no matches"... what the search box says. */
export function matchCountText(result: SearchResult, current: number): string {
  const count = result.matches.length;
  if (count === 0) return "no matches";
  const total = `${count.toLocaleString("en-US")}${result.capped ? "+" : ""}`;
  return current >= 0 && current < count ? `${(current + 1).toLocaleString("en-US")} of ${total}` : `${total} matches`;
}

/** The next match to show after `current` (-1: none yet), going down or up, round the end. */
export function stepMatch(current: number, count: number, direction: 1 | -1): number {
  if (count === 0) return -1;
  if (current < 0 || current >= count) return direction === 1 ? 0 : count - 1;
  return (current + direction + count) % count;
}

/** The first match at or after line `index` (where a new search starts: the place in view). */
export function firstMatchFrom(result: SearchResult, index: number): number {
  const { matches } = result;
  let low = 0;
  let high = matches.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((matches[middle]?.index ?? 0) < index) low = middle + 1;
    else high = middle;
  }
  return low < matches.length ? low : matches.length > 0 ? 0 : -1;
}

export interface MarkedSegment {
  readonly text: string;
  readonly style: AnsiStyle;
  /** 0: not a match; 1: a match; 2: the current match. */
  readonly mark: 0 | 1 | 2;
}

/**
 * A row's styled segments cut where matches begin and end, each piece marked. `ranges` are
 * offsets in the visible text (the segments joined), in order and apart; `current` is the
 * range to mark as the current match (-1: none).
 */
export function markSegments(
  segments: readonly AnsiSegment[],
  ranges: readonly [number, number][],
  current: number = -1,
): MarkedSegment[] {
  const marked: MarkedSegment[] = [];
  let offset = 0;
  let range = 0;
  for (const segment of segments) {
    const segmentEnd = offset + segment.text.length;
    let at = offset;
    while (at < segmentEnd) {
      const next = ranges[range];
      if (next === undefined || next[0] >= segmentEnd) {
        marked.push({ text: segment.text.slice(at - offset), style: segment.style, mark: 0 });
        at = segmentEnd;
      } else if (at < next[0]) {
        marked.push({ text: segment.text.slice(at - offset, next[0] - offset), style: segment.style, mark: 0 });
        at = next[0];
      } else {
        const end = Math.min(next[1], segmentEnd);
        marked.push({ text: segment.text.slice(at - offset, end - offset), style: segment.style, mark: range === current ? 2 : 1 });
        at = end;
        if (end === next[1]) range += 1;
      }
    }
    offset = segmentEnd;
  }
  return marked;
}
