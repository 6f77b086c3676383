// The lines of one job attempt, kept up to date: all existing lines are read page by page,
// then, while `follow` is on and the attempt has not ended, new ones by long-poll. Requests
// are aborted on unmount and when the arguments change; a failed request is retried after
// a bounded pause, keeping every line already read. Turning `follow` off and on again
// carries on from the last line read; another attempt (or job, run, namespace) starts over.

import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { LogFollower } from "./follower";
import { appendLines, EMPTY_LOG, MAX_LINES, type LogBuffer, type LogEntry } from "./lines";

export interface LogFollowArgs {
  namespace: string;
  runId: string;
  job: string;
  attempt: number;
  /** Keep waiting for new lines until the attempt ends (otherwise stop once caught up). */
  follow: boolean;
  /** How many lines to keep in memory (default `MAX_LINES`); older ones are dropped. */
  maxLines?: number;
}

export interface LogFollowState {
  /** The lines kept, oldest first. */
  lines: readonly LogEntry[];
  /** How many of the oldest lines were let go to stay within `maxLines`. */
  dropped: number;
  /** The attempt has ended and every line was read. */
  done: boolean;
  /** The last request failed (cleared by the next page that arrives). */
  error: Error | undefined;
  /** `error` is passing: the request will be tried again. */
  retrying: boolean;
  /** The first page has arrived. */
  loaded: boolean;
}

interface Held {
  key: string;
  log: LogBuffer;
  done: boolean;
  error: Error | undefined;
  retrying: boolean;
  loaded: boolean;
}

function startOver(key: string): Held {
  return { key, log: EMPTY_LOG, done: false, error: undefined, retrying: false, loaded: false };
}

export function useLogFollow({
  namespace,
  runId,
  job,
  attempt,
  follow,
  maxLines = MAX_LINES,
}: LogFollowArgs): LogFollowState {
  const key = JSON.stringify([namespace, runId, job, attempt]);
  const [held, setHeld] = useState<Held>(() => startOver(key));
  // Where reading got to, for the next effect of the same attempt (`follow` toggled).
  const cursor = useRef({ key, after: 0, cursor: "", done: false });

  useEffect(() => {
    if (cursor.current.key !== key) cursor.current = { key, after: 0, cursor: "", done: false };
    const position = cursor.current;
    if (position.done) return;

    const controller = new AbortController();
    const update = (change: (current: Held) => Held) =>
      setHeld((current) => change(current.key === key ? current : startOver(key)));
    const follower = new LogFollower({
      after: position.after,
      cursor: position.cursor,
      follow,
      fetchPage: (after, followSeconds, signal, pageCursor) =>
        api.logs(namespace, runId, job, attempt, after, followSeconds, pageCursor, { signal }),
      onPage: (page) => {
        position.after = page.next_after;
        position.cursor = page.cursor ?? "";
        position.done = page.done;
        update((current) => ({
          key,
          log: appendLines(current.log, page.lines, maxLines),
          done: page.done,
          error: undefined,
          retrying: false,
          loaded: true,
        }));
      },
      onError: (error, retryInMs) => update((current) => ({ ...current, error, retrying: retryInMs !== null })),
    });
    void follower.run(controller.signal);
    return () => controller.abort();
  }, [key, namespace, runId, job, attempt, follow, maxLines]);

  const current = held.key === key ? held : startOver(key);
  return {
    lines: current.log.entries,
    dropped: current.log.dropped,
    done: current.done,
    error: current.error,
    retrying: current.retrying,
    loaded: current.loaded,
  };
}
