// A fan-out job's progress as data: its counts per state (the run document's `fan_out`) as
// the segments of one bar, in percent of its instances, and the words that sum it up. The
// graph's group node and the timeline's row draw the same bar (FanOutBar.tsx).
//
// Decisions: segments go finished first (succeeded, reused, failed, cancelled, skipped),
// then those a group that ended never started, then running, then pending, so the bar fills
// from the left as the job goes on; a state with no instance has no segment; pending is what
// the counts leave of the instances when the server does not say it (so the bar always sums
// to 100%).

import type { CountedState, FanOutSummary } from "../../api/types";
import { countText } from "../../graph";

export const BAR_ORDER: CountedState[] = ["succeeded", "reused", "failed", "cancelled", "skipped", "not_started", "running", "pending"];
const FINISHED = new Set<CountedState>(["succeeded", "reused", "failed", "cancelled", "skipped"]);

/** A state as the words say it: "not started". */
export const stateWords = (state: CountedState) => state.replace("_", " ");

export interface BarSegment {
  state: CountedState;
  count: number;
  /** Where it starts and how wide it is, in percent of the bar. */
  left: number;
  width: number;
}

/** Every state's count, pending made up from what the others leave. */
export function fullCounts(summary: FanOutSummary): Record<CountedState, number> {
  const counts = Object.fromEntries(BAR_ORDER.map((state) => [state, Math.max(0, summary.counts[state] ?? 0)])) as Record<
    CountedState,
    number
  >;
  if (summary.counts.pending === undefined) {
    const others = BAR_ORDER.filter((state) => state !== "pending").reduce((sum, state) => sum + counts[state], 0);
    counts.pending = Math.max(0, summary.instances - others);
  }
  return counts;
}

export function barSegments(summary: FanOutSummary): BarSegment[] {
  const counts = fullCounts(summary);
  const total = Math.max(1, BAR_ORDER.reduce((sum, state) => sum + counts[state], 0), summary.instances);
  const segments: BarSegment[] = [];
  let left = 0;
  for (const state of BAR_ORDER) {
    const count = counts[state];
    if (count === 0) continue;
    const width = (count / total) * 100;
    segments.push({ state, count, left, width });
    left += width;
  }
  return segments;
}

/** How many instances have finished (whatever their end). */
export function finishedCount(summary: FanOutSummary): number {
  const counts = fullCounts(summary);
  return BAR_ORDER.filter((state) => FINISHED.has(state)).reduce((sum, state) => sum + counts[state], 0);
}

/** "740 of 1,000 done · 12 failed · 8 running": the bar's words, for its label and tooltip. */
export function progressWords(summary: FanOutSummary): string {
  const counts = fullCounts(summary);
  const parts = [`${countText(finishedCount(summary))} of ${countText(summary.instances)} done`];
  for (const state of ["failed", "cancelled", "not_started", "running"] as const) {
    if (counts[state]) parts.push(`${countText(counts[state])} ${stateWords(state)}`);
  }
  return parts.join(" · ");
}

/** Every non-zero count, in the bar's order: "succeeded 990, failed 10". */
export function countsWords(summary: FanOutSummary): string {
  const counts = fullCounts(summary);
  return BAR_ORDER.filter((state) => counts[state])
    .map((state) => `${stateWords(state)} ${countText(counts[state])}`)
    .join(", ");
}
