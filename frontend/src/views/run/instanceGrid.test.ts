import { describe, expect, it } from "vitest";
import type { InstanceDocument, InstanceState } from "../../api/types";
import {
  PAGE_LIMIT,
  columnsFor,
  compareInstances,
  filteredTotal,
  inFilter,
  initialPaging,
  requestedStates,
  paging,
  rowPositions,
  rowsFor,
  wantsMore,
  type Paging,
} from "./instanceGrid";

const instance = (index: number, status: InstanceState = "succeeded"): InstanceDocument => ({
  index,
  key: `test.${index}`,
  values: {},
  shard: index,
  status,
  reason: "",
  attempts: 1,
  exit_code: 0,
  started_at: null,
  finished_at: null,
  outputs: null,
});

const loaded = (state: Paging, instances: InstanceDocument[], nextCursor: string | null): Paging =>
  paging(paging(state, { type: "request" }), { type: "loaded", reading: state.reading, instances, nextCursor });

describe("the instance grid", () => {
  it("orders failed first, then running, then the rest by index, then those not started by index", () => {
    const items = [instance(0), instance(5, "running"), instance(3, "failed"), instance(1, "pending"), instance(2, "failed"), instance(4)];
    expect(items.sort(compareInstances).map((item) => item.index)).toEqual([2, 3, 5, 0, 4, 1]);
  });

  it("asks for every state by name for all instances (a page without one leaves the pending out)", () => {
    expect(requestedStates("")).toBe("failed,running,succeeded,cancelled,skipped,reused,pending");
    expect(requestedStates("failed")).toBe("failed");
    expect(requestedStates("not_started")).toBe("pending");
    expect(inFilter(instance(1, "pending"), "not_started")).toBe(true);
    expect(inFilter(instance(1, "pending"), "failed")).toBe(false);
  });

  it("fits as many 14 px cells with 2 px gaps as the width holds, at least one", () => {
    expect(columnsFor(318)).toBe(20);
    expect(columnsFor(317)).toBe(19);
    expect(columnsFor(0)).toBe(1);
  });

  it("lays 10,000 instances in rows and knows each row's positions", () => {
    expect(rowsFor(10_000, 24)).toBe(417);
    expect(rowPositions(416, 24, 10_000)).toEqual([9_984, 10_000]);
    expect(rowPositions(0, 24, 10_000)).toEqual([0, 24]);
  });

  it("is as long as the instances the filter counts", () => {
    const summary = { instances: 100, counts: { failed: 3, succeeded: 90 } };
    expect(filteredTotal(summary, "")).toBe(100);
    expect(filteredTotal(summary, "failed")).toBe(3);
    expect(filteredTotal(summary, "pending")).toBe(7);
  });
});

describe("the instance grid's pages", () => {
  it("asks for the first page at once, and the next only when the view nears the end of what was read", () => {
    const start = initialPaging();
    expect(wantsMore(start, 0)).toBe(true);
    const first = loaded(start, Array.from({ length: PAGE_LIMIT }, (_, i) => instance(i)), "c1");
    expect(wantsMore(first, 100)).toBe(false);
    expect(wantsMore(first, PAGE_LIMIT - 50)).toBe(true);
    const second = loaded(first, [instance(500)], null);
    expect(second.items).toHaveLength(501);
    expect(second.done).toBe(true);
    expect(wantsMore(second, 501)).toBe(false);
  });

  it("asks for nothing while a page is coming or after a failure", () => {
    const asked = paging(initialPaging(), { type: "request" });
    expect(wantsMore(asked, 0)).toBe(false);
    const failed = paging(asked, { type: "failed", reading: asked.reading, error: "boom" });
    expect(failed.error).toBe("boom");
    expect(wantsMore(failed, 0)).toBe(false);
  });

  it("starts again from the first page when the filter changes, and drops the answer to the old filter", () => {
    const asked = paging(initialPaging(), { type: "request" });
    const filtered = paging(asked, { type: "filter", filter: "failed" });
    expect(filtered.items).toEqual([]);
    const late = paging(filtered, { type: "loaded", reading: asked.reading, instances: [instance(1)], nextCursor: null });
    expect(late).toBe(filtered);
  });

  it("keeps showing what it read until the first page of a refresh replaces it", () => {
    const first = loaded(initialPaging(), [instance(0, "running"), instance(1, "pending")], null);
    const refreshing = paging(first, { type: "refresh" });
    expect(refreshing.items).toHaveLength(2);
    expect(wantsMore(refreshing, 0)).toBe(true);
    const fresh = loaded(refreshing, [instance(1, "failed"), instance(0, "succeeded")], "next");
    expect(fresh.items.map((item) => [item.index, item.status])).toEqual([
      [1, "failed"],
      [0, "succeeded"],
    ]);
    expect(fresh.stale).toBe(false);
  });

  it("shows an instance that moved between pages once, as the newest page says", () => {
    const first = loaded(initialPaging(), [instance(4, "running"), instance(0), instance(1)], "c1");
    const second = loaded(first, [instance(4, "failed"), instance(2)], null);
    expect(second.items.map((item) => [item.index, item.status])).toEqual([
      [4, "failed"],
      [0, "succeeded"],
      [1, "succeeded"],
      [2, "succeeded"],
    ]);
  });

  it("keeps only the filter's state, in index order, when filtered", () => {
    const failed = paging(initialPaging(), { type: "filter", filter: "failed" });
    const page = loaded(failed, [instance(9, "failed"), instance(3, "failed")], "c");
    const next = loaded(page, [instance(3, "succeeded"), instance(12, "failed")], null);
    expect(next.items.map((item) => item.index)).toEqual([9, 12]);
  });
});
