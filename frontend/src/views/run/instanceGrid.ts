// The instance grid as data: where a fan-out job's instances stand in the grid (failed first,
// then running, then the others by index, then those not started by index), how many
// columns and rows a width holds, and the paging state of the pages read from
// `GET …/jobs/{job}/instances`. Pure: InstanceGrid.tsx draws it and asks for pages.
//
// Decisions:
// - "all" asks for every state by name, since a page without a state leaves out the
//   instances not started yet: the server then sends failed, running, the other recorded
//   ones by index, then the pending by index, which is the grid's order (`RANK`); the
//   instances a group that ended never started ("not started" in the counts) are read as
//   the pending ones, which is what the server calls them;
// - the grid is as long as the instances the filter counts (from the run's counts), so its
//   scroll height does not jump; positions not read yet are drawn as empty cells and read
//   as they come into view, a page of 500 at a time;
// - when the run's counts change the pages are read again from the first (at most every
//   3 s): what was shown stays until the first new page replaces it, and an answer to an
//   older filter or reading is dropped;
// - instances are keyed by index, so one that moved between pages while the run went on
//   is shown once, as the newest page says.

import type { CountedState, FanOutSummary, InstanceDocument, InstanceState } from "../../api/types";
import { fullCounts } from "./fanoutBar";

export const CELL = 14;
export const CELL_GAP = 2;
export const PAGE_LIMIT = 500;
/** The pages are read again at most this often while the run's counts change. */
export const REFRESH_MS = 3_000;
/** Read the next page once the view comes this close to the positions not read yet. */
export const PREFETCH = 100;

/** What the grid shows: every instance (failed first) or those of one state. */
export type InstanceFilter = CountedState | "";

export const FILTERS: InstanceFilter[] = ["", "failed", "running", "pending", "succeeded", "cancelled", "skipped", "reused", "not_started"];

const EVERY_STATE: InstanceState[] = ["failed", "running", "succeeded", "cancelled", "skipped", "reused", "pending"];

/** The `state` a filter asks the server for. */
export function requestedStates(filter: InstanceFilter): string {
  if (filter === "") return EVERY_STATE.join(",");
  return filter === "not_started" ? "pending" : filter;
}

/** Whether an instance the server sent belongs to the filter. */
export function inFilter(item: InstanceDocument, filter: InstanceFilter): boolean {
  return filter === "" || item.status === (filter === "not_started" ? "pending" : filter);
}

const RANK: Partial<Record<InstanceState, number>> = { failed: 0, running: 1, pending: 3 };

/** The grid's order: failed first, then running, then the others by index, then those not started by index. */
export function compareInstances(a: InstanceDocument, b: InstanceDocument): number {
  return (RANK[a.status] ?? 2) - (RANK[b.status] ?? 2) || a.index - b.index;
}

export function columnsFor(width: number): number {
  return Math.max(1, Math.floor((width + CELL_GAP) / (CELL + CELL_GAP)));
}

export function rowsFor(total: number, columns: number): number {
  return Math.ceil(Math.max(0, total) / Math.max(1, columns));
}

/** The positions of a row: [first, end). */
export function rowPositions(row: number, columns: number, total: number): [number, number] {
  const first = row * columns;
  return [Math.min(first, total), Math.min(first + columns, total)];
}

/** How many instances the filter shows, by the run's counts. */
export function filteredTotal(summary: FanOutSummary, filter: InstanceFilter): number {
  return filter === "" ? summary.instances : fullCounts(summary)[filter];
}

export interface Paging {
  filter: InstanceFilter;
  items: InstanceDocument[];
  /** The cursor of the next page; null with `done` when there is none. */
  cursor: string | null;
  done: boolean;
  loading: boolean;
  error: string | undefined;
  /** Bumped by every new reading (filter, refresh): an answer carries the one it was asked in. */
  reading: number;
  /** The first page of a new reading has not come yet: what is shown is the reading before. */
  stale: boolean;
}

export type PagingEvent =
  | { type: "filter"; filter: InstanceFilter }
  | { type: "refresh" }
  | { type: "request" }
  | { type: "loaded"; reading: number; instances: InstanceDocument[]; nextCursor: string | null }
  | { type: "failed"; reading: number; error: string };

export function initialPaging(filter: InstanceFilter = ""): Paging {
  return { filter, items: [], cursor: null, done: false, loading: false, error: undefined, reading: 0, stale: false };
}

function merged(current: InstanceDocument[], page: InstanceDocument[], filter: InstanceFilter): InstanceDocument[] {
  const byIndex = new Map(current.map((item) => [item.index, item]));
  for (const item of page) byIndex.set(item.index, item);
  const items = [...byIndex.values()].filter((item) => inFilter(item, filter));
  return filter === "" ? items.sort(compareInstances) : items.sort((a, b) => a.index - b.index);
}

export function paging(state: Paging, event: PagingEvent): Paging {
  switch (event.type) {
    case "filter":
      if (event.filter === state.filter) return state;
      return { ...initialPaging(event.filter), reading: state.reading + 1 };
    case "refresh":
      return { ...state, cursor: null, done: false, loading: false, error: undefined, reading: state.reading + 1, stale: true };
    case "request":
      return state.loading || state.done ? state : { ...state, loading: true, error: undefined };
    case "loaded": {
      if (event.reading !== state.reading) return state;
      const base = state.stale ? [] : state.items;
      return {
        ...state,
        items: merged(base, event.instances, state.filter),
        cursor: event.nextCursor,
        done: event.nextCursor === null,
        loading: false,
        stale: false,
      };
    }
    case "failed":
      return event.reading === state.reading ? { ...state, loading: false, error: event.error } : state;
  }
}

/** Whether the view, showing positions up to `lastShown`, wants the next page now. */
export function wantsMore(state: Paging, lastShown: number): boolean {
  if (state.loading || state.error !== undefined) return false;
  if (state.stale) return true;
  return !state.done && lastShown >= state.items.length - PREFETCH;
}
