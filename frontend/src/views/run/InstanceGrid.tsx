// A fan-out job's instances as a grid of cells coloured by state (instanceGrid.ts's order and
// paging), with a filter by state. Only the rows in view are in the page (a virtualised list
// of rows), so 10,000 cells draw as fast as a few hundred; the positions not read yet are
// empty cells, read a page at a time as they come into view. A cell is a link to its
// instance (`#/run/<ns>/<run>/test.3`): its details, attempts and logs.

import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useLayoutEffect, useReducer, useRef, useState } from "react";
import { api } from "../../api/client";
import type { FanOutSummary, InstanceDocument } from "../../api/types";
import { countText } from "../../graph";
import { href } from "../../routing";
import { fullCounts, stateWords } from "./fanoutBar";
import { noteSeen } from "./instanceLookup";
import {
  CELL,
  CELL_GAP,
  FILTERS,
  PAGE_LIMIT,
  REFRESH_MS,
  columnsFor,
  filteredTotal,
  initialPaging,
  paging,
  requestedStates,
  rowPositions,
  rowsFor,
  wantsMore,
} from "./instanceGrid";

interface InstanceGridProps {
  namespace: string;
  runId: string;
  job: string;
  summary: FanOutSummary;
}

/** What a cell's tooltip says: its key, state, values and shard. */
export function cellTitle(item: InstanceDocument): string {
  const values = Object.entries(item.values ?? {}).map(([key, value]) => `${key}=${value}`);
  const shard = item.shard === null || item.shard === undefined ? [] : [`shard ${item.shard}`];
  const reason = item.reason ? [item.reason] : [];
  return [item.key, item.status, ...values, ...shard, ...reason].join(" · ");
}

export function InstanceGrid({ namespace, runId, job, summary }: InstanceGridProps) {
  const [state, dispatch] = useReducer(paging, undefined, () => initialPaging());
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const total = filteredTotal(summary, state.filter);
  const columns = columnsFor(width);
  const rows = rowsFor(total, columns);
  const counts = fullCounts(summary);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // The run's counts changed: what was read is out of date, read it again from the first
  // page; at most every REFRESH_MS, so a run of thousands of instances does not have its
  // pages read on every poll.
  const countsKey = JSON.stringify(summary.counts);
  const shownCounts = useRef(countsKey);
  const lastRefresh = useRef(0);
  useEffect(() => {
    if (countsKey === shownCounts.current) return;
    const wait = Math.max(0, lastRefresh.current + REFRESH_MS - Date.now());
    const timer = window.setTimeout(() => {
      shownCounts.current = countsKey;
      lastRefresh.current = Date.now();
      dispatch({ type: "refresh" });
    }, wait);
    return () => window.clearTimeout(timer);
  }, [countsKey]);

  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL + CELL_GAP,
    overscan: 8,
  });
  const shown = virtualizer.getVirtualItems();
  const lastShown = shown.length ? rowPositions(shown[shown.length - 1]?.index ?? 0, columns, total)[1] : 0;

  useEffect(() => {
    if (!wantsMore(state, lastShown) || (total === 0 && !state.stale)) return;
    const { reading, cursor, filter } = state;
    dispatch({ type: "request" });
    api
      .instances(namespace, runId, job, { state: requestedStates(filter), cursor: state.stale ? null : cursor, limit: PAGE_LIMIT })
      .then(
        (page) => dispatch({ type: "loaded", reading, instances: page.instances, nextCursor: page.next_cursor }),
        (failure: Error) => dispatch({ type: "failed", reading, error: failure.message }),
      );
  }, [state, lastShown, total, namespace, runId, job]);

  return (
    <div className="instance-grid" data-testid="instance-grid" data-loaded={state.items.length} data-total={total}>
      <div className="instance-filters" role="tablist" aria-label="Show instances">
        {FILTERS.filter((filter) => filter === "" || counts[filter] > 0 || filter === state.filter).map((filter) => (
          <button
            key={filter || "all"}
            role="tab"
            aria-selected={state.filter === filter}
            className={filter ? `fo-filter fo-${filter}` : "fo-filter"}
            data-testid="instance-filter"
            data-filter={filter || "all"}
            onClick={() => {
              scroller.current?.scrollTo(0, 0); // another list: from its start
              dispatch({ type: "filter", filter });
            }}
          >
            {filter ? stateWords(filter) : "all"} {countText(filter ? counts[filter] : summary.instances)}
          </button>
        ))}
      </div>
      <p className="muted instance-grid-hint">
        {state.filter === "" ? "Failed first, then running, then by index." : `The ${stateWords(state.filter)} instances, by index.`} Click one
        for its logs.
      </p>
      <div ref={scroller} className="instance-cells" data-testid="instance-cells">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {shown.map((row) => {
            const [first, end] = rowPositions(row.index, columns, total);
            return (
              <div key={row.index} className="instance-row" style={{ transform: `translateY(${row.start}px)` }}>
                {Array.from({ length: end - first }, (_, offset) => {
                  const item = state.items[first + offset]; // while a new reading comes, the last one stays shown
                  return <Cell key={first + offset} item={item} namespace={namespace} runId={runId} />;
                })}
              </div>
            );
          })}
        </div>
      </div>
      {state.error && (
        <p className="field-error" role="alert">
          Could not read the instances: {state.error}
        </p>
      )}
      {total === 0 && <p className="muted">No instance {state.filter ? `is ${stateWords(state.filter)}` : "yet"}.</p>}
    </div>
  );
}

const Cell = memo(function Cell({ item, namespace, runId }: { item: InstanceDocument | undefined; namespace: string; runId: string }) {
  if (!item) return <span className="instance-cell unloaded" aria-hidden="true" />;
  return (
    <a
      className={`instance-cell fo-${item.status}`}
      href={href({ view: "run", namespace, runId, job: item.key })}
      title={cellTitle(item)}
      aria-label={`${item.key}: ${item.status}`}
      data-testid="instance-cell"
      data-index={item.index}
      data-status={item.status}
      onClick={() => noteSeen(runId, item.key, item.status)}
    />
  );
});
