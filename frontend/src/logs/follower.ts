// Reading a job attempt's log page by page, and following it by long-poll: the logic of
// `useLogFollow` without React, with the request and the clock injected so tests never
// wait.
//
// With `follow`, every request asks the server to wait up to `followSeconds` for a line:
// the server answers at once while lines are waiting, so the same request reads the lines
// that exist and then waits for new ones. Without `follow`, pages are read until one comes
// back empty. Either way reading stops when the server says `done` (the attempt ended and
// every line was sent). A failed request is retried after a growing, bounded pause; the
// cursor only moves on a page that arrived, so nothing is lost or read twice.

import { ApiError } from "../api/client";
import type { LogPage } from "../api/types";

/**
 * One request: the lines after `after`, waiting up to `followSeconds` for one; `cursor` is
 * the previous page's (empty for none), for the server to go on from where it stopped.
 */
export type FetchPage = (after: number, followSeconds: number, signal: AbortSignal, cursor: string) => Promise<LogPage>;

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not throw). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface Backoff {
  /** The pause after the first failure. */
  initialMs: number;
  /** The longest pause, however many failures in a row. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };
/** The longest long-poll the server accepts. */
export const MAX_FOLLOW_SECONDS = 20;

export interface LogFollowerOptions {
  fetchPage: FetchPage;
  /** Each page as it arrives, its lines limited to those after the cursor (possibly none). */
  onPage: (page: LogPage) => void;
  /** A failed request: `retryInMs` is the pause before the next try, null when giving up. */
  onError?: (error: Error, retryInMs: number | null) => void;
  /** Keep reading (by long-poll) until the attempt is done, rather than stop when caught up. */
  follow: boolean;
  /** The cursor to start from: the last `seq` already held (0 for none). */
  after?: number;
  /** The server's cursor of the page that ended at `after`, if it gave one. */
  cursor?: string;
  followSeconds?: number;
  sleep?: Sleep;
  backoff?: Backoff;
  /** 0..1, to spread the retries of many viewers after an outage (default Math.random). */
  random?: () => number;
  /**
   * The pause after a long-poll that came back empty, so a server that answers at once
   * without waiting cannot make the follower spin.
   */
  idleMs?: number;
  /** Whether a failure is worth another try (default: `isRetryable`). */
  isRetryable?: (error: Error) => boolean;
}

/** How reading ended. */
export type FollowOutcome = "done" | "caught-up" | "aborted" | "failed";

/** `setTimeout` as a promise that ends early, quietly, when `signal` aborts. */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener("abort", finish, { once: true });
  });

/**
 * Whether another try may succeed: the server could not be reached, was busy or failing,
 * or asked for a token (the app prompts for one). A request the server refused as such
 * (400, 403, 404...) would only be refused again.
 */
export function isRetryable(error: Error): boolean {
  if (!(error instanceof ApiError)) return true;
  const { status } = error;
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
}

/** The pause before try `failures + 1`: doubling from `initialMs` up to `maxMs`, jittered into its upper half. */
export function retryDelay(failures: number, backoff: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  const full = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  const spread = Math.min(1, Math.max(0, random()));
  return Math.round(full / 2 + (full / 2) * spread);
}

function isAbort(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export class LogFollower {
  /** The last `seq` read: the next request asks for the lines after it. */
  after: number;
  /** The server's cursor of the last page read, sent back with the next request. */
  cursor: string;
  private readonly options: LogFollowerOptions;

  constructor(options: LogFollowerOptions) {
    this.options = options;
    this.after = Math.max(0, options.after ?? 0);
    this.cursor = options.cursor ?? "";
  }

  /** Reads until done, caught up (without `follow`), aborted or refused for good. */
  async run(signal: AbortSignal): Promise<FollowOutcome> {
    const { fetchPage, onPage, onError, follow } = this.options;
    const pause = this.options.sleep ?? sleep;
    const retryable = this.options.isRetryable ?? isRetryable;
    const followSeconds = follow
      ? Math.min(MAX_FOLLOW_SECONDS, Math.max(0, this.options.followSeconds ?? MAX_FOLLOW_SECONDS))
      : 0;
    const idleMs = this.options.idleMs ?? 1000;
    let failures = 0;

    while (!signal.aborted) {
      let page: LogPage;
      try {
        page = await fetchPage(this.after, followSeconds, signal, this.cursor);
      } catch (caught) {
        if (signal.aborted || isAbort(caught)) return "aborted";
        const error = asError(caught);
        if (!retryable(error)) {
          onError?.(error, null);
          return "failed";
        }
        failures += 1;
        const delay = retryDelay(failures, this.options.backoff, this.options.random);
        onError?.(error, delay);
        await pause(delay, signal);
        continue;
      }
      if (signal.aborted) return "aborted"; // an answer that arrived too late is not used
      failures = 0;

      const lines = (page.lines ?? []).filter((line) => line.seq > this.after);
      const last = lines[lines.length - 1];
      const nextAfter = Math.max(this.after, last?.seq ?? 0, Number.isFinite(page.next_after) ? page.next_after : 0);
      this.after = nextAfter;
      this.cursor = typeof page.cursor === "string" ? page.cursor : "";
      onPage({ lines, next_after: nextAfter, done: page.done === true, ...(this.cursor ? { cursor: this.cursor } : {}) });
      if (page.done) return "done";
      if (lines.length === 0) {
        if (!follow) return "caught-up";
        await pause(idleMs, signal);
      }
    }
    return "aborted";
  }
}
