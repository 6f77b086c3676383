// The run's timeline as data: one row per job in stage order (then action, then the order
// the run lists them), each with its bars placed on a time axis in percent, and the axis's
// ticks. Pure: Timeline.tsx draws it, and a poll that brings new times lays it out again.
//
// What is drawn where (decisions the issue leaves open):
// - the axis runs from the run's start (or its first job's, or its creation) to its end, or
//   to now while it runs: bars still going grow to now;
// - each attempt is a bar of its own, coloured by its state; the gap between two attempts
//   (the retry's backoff) is a dashed "retry wait" segment; the time between a job being
//   started and its first container starting (pulling, provisioning) is a hatched "queued"
//   segment;
// - a job that never ran here is a mark, not a bar: "skipped" and "reused" at the moment the
//   run decided so, "pending" (waiting for earlier jobs) at now;
// - ticks are offsets from the axis's start in round steps (1 s … 1 day), at most `maxTicks`,
//   labelled as elapsed time ("1m30s"); the clock time of a bar is in its tooltip;
// - a fan-out job is one row: one bar from its start to its end (or now), split by its
//   instances' states (fanoutBar.ts), never a row per instance.

import type { FanOutSummary, JobDocument, JobStatus } from "../../api/types";

export type SegmentKind = "attempt" | "queued" | "retry-wait" | "fan-out";
export type RowMark = "bars" | "pending" | "skipped" | "reused";

export interface TimelineSegment {
  kind: SegmentKind;
  /** The attempt's number, for an attempt. */
  attempt?: number;
  /** The attempt's state; for the other kinds, the kind. */
  status: string;
  start: number;
  end: number;
  /** Where it starts and how long it is, in percent of the axis. */
  left: number;
  width: number;
  /** Not finished: its end is now. */
  open: boolean;
}

export interface TimelineRow {
  job: string;
  stage: number;
  action: number;
  status: JobStatus;
  mark: RowMark;
  segments: TimelineSegment[];
  /** Where a mark stands (skipped, reused, pending), in percent; null for none. */
  at: number | null;
  /** How long the job took or has been going on for, in seconds; null when it never started. */
  duration: number | null;
  /** A fan-out job's counts: its one bar is split by them. */
  fanOut?: FanOutSummary;
}

export interface TimelineTick {
  /** Seconds after the axis's start. */
  offset: number;
  left: number;
  label: string;
}

/** The rows of one stage: rows[first] to rows[first + count - 1]. */
export interface TimelineStage {
  stage: number;
  first: number;
  count: number;
}

export interface TimelineLayout {
  start: number;
  end: number;
  rows: TimelineRow[];
  stages: TimelineStage[];
  ticks: TimelineTick[];
  /** Where now stands while the run goes on, in percent; null once it has ended. */
  now: number | null;
}

export interface TimelineInput {
  jobs: JobDocument[];
  /** The run's times (UNIX seconds). */
  created: number | null;
  started: number | null;
  finished: number | null;
  now: number;
}

/** The round steps the axis may tick by, in seconds. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const DAY = 86400;

export function layoutTimeline(input: TimelineInput, maxTicks = 8): TimelineLayout {
  const { jobs, now } = input;
  const ended = input.finished !== null;
  const start = axisStart(input);
  let end = input.finished ?? now;
  for (const job of jobs) {
    for (const attempt of job.attempt_history) end = Math.max(end, attempt.finished_at ?? start);
    end = Math.max(end, job.finished_at ?? start);
  }
  end = Math.max(end, start + 1); // an axis of at least a second: nothing divides by zero
  const span = end - start;
  const place = (moment: number) => ((Math.min(Math.max(moment, start), end) - start) / span) * 100;
  const segment = (kind: SegmentKind, status: string, from: number, to: number | null, attempt?: number): TimelineSegment => {
    const closed = Math.max(from, to ?? end);
    return { kind, status, attempt, start: from, end: closed, left: place(from), width: place(closed) - place(from), open: to === null };
  };

  const ordered = jobs
    .map((job, index) => ({ job, index }))
    .sort((a, b) => a.job.stage - b.job.stage || a.job.action - b.job.action || a.index - b.index)
    .map(({ job }) => job);
  const rows = ordered.map((job) => rowOf(job, { now, ended, end, place, segment }));
  return { start, end, rows, stages: stagesOf(rows), ticks: ticksOf(span, maxTicks), now: ended ? null : place(now) };
}

function axisStart({ jobs, created, started, now }: TimelineInput): number {
  const moments: number[] = [];
  if (started !== null) moments.push(started);
  for (const job of jobs) {
    if (job.started_at !== null) moments.push(job.started_at);
    for (const attempt of job.attempt_history) if (attempt.started_at !== null) moments.push(attempt.started_at);
  }
  if (moments.length) return Math.min(...moments);
  return created ?? now;
}

interface Placing {
  now: number;
  ended: boolean;
  end: number;
  place: (moment: number) => number;
  segment: (kind: SegmentKind, status: string, from: number, to: number | null, attempt?: number) => TimelineSegment;
}

function rowOf(job: JobDocument, { now, ended, end, place, segment }: Placing): TimelineRow {
  const base = { job: job.name, stage: job.stage, action: job.action, status: job.status };
  if (job.fan_out && job.started_at !== null && job.status !== "skipped" && job.status !== "reused") {
    const closingAt = job.finished_at ?? (ended ? end : null);
    const duration = Math.max(0, (job.finished_at ?? (ended ? end : now)) - job.started_at);
    const bar = segment("fan-out", job.status, job.started_at, closingAt);
    return { ...base, mark: "bars", segments: [bar], at: null, duration, fanOut: job.fan_out };
  }
  const attempts = job.attempt_history
    .filter((attempt) => attempt.started_at !== null)
    .sort((a, b) => a.number - b.number);
  // A job that has ended has no open bar, even if an attempt's end was never written.
  const closing = job.finished_at ?? (ended ? end : null);
  const segments: TimelineSegment[] = [];
  const firstStart = attempts[0]?.started_at ?? null;
  // Started but no container yet (or never: it failed to start, was cancelled while waiting).
  const neverRan = job.status === "skipped" || job.status === "reused";
  if (job.started_at !== null && !neverRan && (firstStart === null || firstStart > job.started_at)) {
    segments.push(segment("queued", "queued", job.started_at, firstStart ?? closing));
  }
  attempts.forEach((attempt, index) => {
    const from = attempt.started_at as number;
    const previous = attempts[index - 1];
    const previousEnd = previous?.finished_at ?? null;
    if (previousEnd !== null && from > previousEnd) segments.push(segment("retry-wait", "retry-wait", previousEnd, from));
    const to = attempt.finished_at ?? (attempt.status === "running" && !ended ? null : closing);
    segments.push(segment("attempt", attempt.status, from, to, attempt.number));
  });
  const began = job.started_at ?? firstStart;
  const duration = began === null ? null : Math.max(0, (job.finished_at ?? (ended ? end : now)) - began);
  if (segments.length === 0 && (job.status === "skipped" || job.status === "reused")) {
    const moment = job.finished_at ?? job.started_at;
    return { ...base, mark: job.status, segments, at: moment === null ? null : place(moment), duration: null };
  }
  if (segments.length === 0 && job.status === "pending") {
    return { ...base, mark: "pending", segments, at: ended ? null : place(now), duration: null };
  }
  return { ...base, mark: "bars", segments, at: null, duration };
}

function stagesOf(rows: TimelineRow[]): TimelineStage[] {
  const stages: TimelineStage[] = [];
  rows.forEach((row, index) => {
    const last = stages[stages.length - 1];
    if (last && last.stage === row.stage) last.count += 1;
    else stages.push({ stage: row.stage, first: index, count: 1 });
  });
  return stages;
}

function ticksOf(span: number, maxTicks: number): TimelineTick[] {
  const most = Math.max(1, Math.floor(maxTicks));
  const step = STEPS.find((each) => span / each <= most) ?? Math.ceil(span / most / DAY) * DAY;
  const ticks: TimelineTick[] = [];
  for (let offset = 0; offset <= span + 1e-9; offset += step) {
    ticks.push({ offset, left: (offset / span) * 100, label: formatOffset(offset) });
  }
  return ticks;
}

/** An offset from the axis's start, in the two largest units it needs: "45s", "1m30s", "2h", "1d6h". */
export function formatOffset(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const units: [number, string, number, string][] = [
    [DAY, "d", 3600, "h"],
    [3600, "h", 60, "m"],
    [60, "m", 1, "s"],
  ];
  const [size, name, smaller, smallerName] = units.find(([unit]) => whole >= unit) ?? [60, "m", 1, "s"];
  const first = Math.floor(whole / size);
  const rest = Math.floor((whole % size) / smaller);
  return rest ? `${first}${name}${rest}${smallerName}` : `${first}${name}`;
}
