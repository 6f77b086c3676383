import { describe, expect, it } from "vitest";
import type { AttemptDocument, JobDocument } from "../../api/types";
import { formatOffset, layoutTimeline, type TimelineLayout, type TimelineRow } from "./timeline";

const T = 1_700_000_000;

function attempt(number: number, started: number | null, finished: number | null, status = "succeeded"): AttemptDocument {
  return { number, status, exit_code: null, reason: "", started_at: started, finished_at: finished, log_truncated: false };
}

function job(name: string, fields: Partial<JobDocument> = {}): JobDocument {
  return {
    name,
    stage: 0,
    action: 0,
    status: "succeeded",
    reason: "",
    attempts: 0,
    exit_code: null,
    outputs: {},
    started_at: null,
    finished_at: null,
    attempt_history: [],
    ...fields,
  };
}

function row(layout: TimelineLayout, index: number): TimelineRow {
  const found = layout.rows[index];
  if (!found) throw new Error(`no row ${index}`);
  return found;
}

const ran = (name: string, from: number, to: number, fields: Partial<JobDocument> = {}) =>
  job(name, { started_at: T + from, finished_at: T + to, attempt_history: [attempt(1, T + from, T + to)], ...fields });

describe("the run's timeline", () => {
  it("places each job's bar on an axis from the run's start to its end", () => {
    const layout = layoutTimeline({
      jobs: [ran("build", 0, 25), ran("test", 25, 100, { stage: 1 })],
      created: T - 5,
      started: T,
      finished: T + 100,
      now: T + 500,
    });
    expect([layout.start, layout.end, layout.now]).toEqual([T, T + 100, null]);
    const [build, test] = layout.rows as [TimelineRow, TimelineRow];
    expect(build.segments).toMatchObject([{ kind: "attempt", attempt: 1, left: 0, width: 25, open: false }]);
    expect(test.segments).toMatchObject([{ left: 25, width: 75 }]);
    expect(test.duration).toBe(75);
  });

  it("grows the bars of a running job to now", () => {
    const layout = layoutTimeline({
      jobs: [job("slow", { status: "running", started_at: T, attempt_history: [attempt(1, T, null, "running")] })],
      created: T,
      started: T,
      finished: null,
      now: T + 40,
    });
    const [slow] = layout.rows as [TimelineRow];
    expect(slow.segments).toMatchObject([{ kind: "attempt", status: "running", left: 0, width: 100, open: true }]);
    expect(slow.duration).toBe(40);
    expect(layout.now).toBe(100);
  });

  it("puts one row per job in stage order, then action, then the run's order", () => {
    const layout = layoutTimeline({
      jobs: [
        ran("deploy", 50, 60, { stage: 2 }),
        ran("unit", 10, 40, { stage: 1, action: 1 }),
        ran("lint", 10, 20, { stage: 1 }),
        ran("e2e", 10, 50, { stage: 1, action: 1 }),
        ran("checkout", 0, 10),
      ],
      created: T,
      started: T,
      finished: T + 60,
      now: T + 60,
    });
    expect(layout.rows.map((row) => row.job)).toEqual(["checkout", "lint", "unit", "e2e", "deploy"]);
    expect(layout.stages).toEqual([
      { stage: 0, first: 0, count: 1 },
      { stage: 1, first: 1, count: 3 },
      { stage: 2, first: 4, count: 1 },
    ]);
  });

  it("shows each attempt as its own segment, with the retry's wait between them", () => {
    const flaky = job("flaky", {
      started_at: T,
      finished_at: T + 100,
      attempt_history: [attempt(2, T + 60, T + 100), attempt(1, T, T + 40, "failed")],
    });
    const layout = layoutTimeline({ jobs: [flaky], created: T, started: T, finished: T + 100, now: T + 100 });
    expect(row(layout, 0).segments.map((each) => [each.kind, each.attempt, each.status, each.left, each.width])).toEqual([
      ["attempt", 1, "failed", 0, 40],
      ["retry-wait", undefined, "retry-wait", 40, 20],
      ["attempt", 2, "succeeded", 60, 40],
    ]);
  });

  it("draws the wait for a job's first container apart from its attempts", () => {
    const pulling = job("pulling", { status: "running", started_at: T + 10, attempt_history: [attempt(1, T + 30, null, "running")] });
    const launching = job("launching", { status: "running", started_at: T + 20 });
    const layout = layoutTimeline({ jobs: [pulling, launching], created: T, started: T, finished: null, now: T + 50 });
    expect(row(layout, 0).segments.map((each) => [each.kind, each.left, each.width, each.open])).toEqual([
      ["queued", 20, 40, false],
      ["attempt", 60, 40, true],
    ]);
    expect(row(layout, 1).segments).toMatchObject([{ kind: "queued", left: 40, width: 60, open: true }]);
  });

  it("marks skipped and reused jobs where the run decided, and pending ones at now", () => {
    const layout = layoutTimeline({
      jobs: [
        ran("build", 0, 50),
        job("docs", { status: "skipped", started_at: T + 50, finished_at: T + 50 }),
        job("cache", { status: "reused", started_at: T, finished_at: T }),
        job("deploy", { status: "pending", stage: 1 }),
      ],
      created: T,
      started: T,
      finished: null,
      now: T + 100,
    });
    expect(layout.rows.map((row) => [row.job, row.mark, row.at, row.segments.length])).toEqual([
      ["build", "bars", null, 1],
      ["docs", "skipped", 50, 0],
      ["cache", "reused", 0, 0],
      ["deploy", "pending", 100, 0],
    ]);
  });

  it("closes the bars of a run that has ended even where an attempt's end was never written", () => {
    const cut = job("cut", { status: "cancelled", started_at: T, finished_at: T + 30, attempt_history: [attempt(1, T, null, "cancelled")] });
    const layout = layoutTimeline({ jobs: [cut], created: T, started: T, finished: T + 30, now: T + 999 });
    expect(row(layout, 0).segments).toMatchObject([{ width: 100, open: false }]);
  });

  it("has an axis for a run that has not started yet", () => {
    const layout = layoutTimeline({ jobs: [job("first", { status: "pending" })], created: T, started: null, finished: null, now: T });
    expect([layout.start, layout.end]).toEqual([T, T + 1]);
    expect(row(layout, 0)).toMatchObject({ mark: "pending", at: 0 });
  });

  it("ticks in round steps, at most as many as asked", () => {
    const axis = (seconds: number, most = 8) =>
      layoutTimeline({ jobs: [], created: T, started: T, finished: T + seconds, now: T + seconds }, most).ticks;
    expect(axis(100).map((tick) => tick.label)).toEqual(["0s", "15s", "30s", "45s", "1m", "1m15s", "1m30s"]);
    expect(axis(3 * 3600).map((tick) => tick.label)).toEqual(["0s", "30m", "1h", "1h30m", "2h", "2h30m", "3h"]);
    expect(axis(10).map((tick) => tick.left)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(axis(3600, 4).length).toBeLessThanOrEqual(4 + 1);
    expect(axis(30 * 86400).every((tick, index, all) => index === 0 || tick.offset - (all[index - 1]?.offset ?? 0) === 4 * 86400)).toBe(true);
  });

  it("writes offsets in their two largest units", () => {
    expect([0, 45, 60, 90, 3600, 5400, 86400 + 6 * 3600].map(formatOffset)).toEqual(["0s", "45s", "1m", "1m30s", "1h", "1h30m", "1d6h"]);
  });

  it("lays out a few hundred jobs quickly", () => {
    const jobs = Array.from({ length: 500 }, (_, index) =>
      ran(`job-${index}`, index, index + 30, { stage: Math.floor(index / 50), attempt_history: [attempt(1, T + index, T + index + 10, "failed"), attempt(2, T + index + 15, T + index + 30)] }),
    );
    const began = performance.now();
    const layout = layoutTimeline({ jobs, created: T, started: T, finished: T + 600, now: T + 600 });
    expect(performance.now() - began).toBeLessThan(50);
    expect(layout.rows).toHaveLength(500);
    expect(layout.stages).toHaveLength(10);
  });
});

describe("a fan-out job on the timeline", () => {
  it("is one row with one bar from its start to its end, split by its counts", () => {
    const fanned = {
      name: "test",
      stage: 0,
      action: 0,
      status: "running" as const,
      reason: "",
      attempts: 0,
      exit_code: null,
      outputs: {},
      started_at: 100,
      finished_at: null,
      attempt_history: [],
      fan_out: { instances: 10_000, counts: { succeeded: 5_000, running: 4, pending: 4_996 } },
    };
    const layout = layoutTimeline({ jobs: [fanned], created: 100, started: 100, finished: null, now: 200 });
    expect(layout.rows).toHaveLength(1);
    const [row] = layout.rows;
    expect(row?.segments.map((s) => [s.kind, s.left, s.width, s.open])).toEqual([["fan-out", 0, 100, true]]);
    expect(row?.fanOut?.instances).toBe(10_000);
    expect(row?.duration).toBe(100);
  });
});
