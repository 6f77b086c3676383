// A job attempt's log: a virtualised list of fixed-height rows (only the rows in view are
// in the page, so 100,000+ lines scroll smoothly), each with its number, its time and its
// text. The text is drawn from its ANSI segments as React text children with inline style
// objects, never as HTML: a line reading `<img src=x onerror=alert(1)>` shows exactly that.
//
// "Follow" keeps the end of the log in view as lines arrive; scrolling up turns it off,
// scrolling back down to the end (or "Jump to end") turns it on again. Lines keep being
// read either way while `live` is on.

import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useLayoutEffect, useRef, useState, type CSSProperties } from "react";
import { ErrorNote } from "../ui/ErrorNote";
import { parseAnsi, type AnsiStyle } from "./ansi";
import { formatFullTime, formatTimestamp, type LogEntry } from "./lines";
import { useLogFollow } from "./useLogFollow";
import "./logs.css";

/** The height of a row, in px; `.log-line` in logs.css has the same. */
export const ROW_HEIGHT = 20;

export interface LogViewProps {
  namespace: string;
  runId: string;
  job: string;
  attempt: number;
  /** Keep reading new lines while the attempt runs (default true). */
  live?: boolean;
  /** Start with "Follow" on (default true). */
  initialFollow?: boolean;
  /** How many lines to keep in memory (default 200,000). */
  maxLines?: number;
  /** Added to the `log-view` element's classes (to size it, for one). */
  className?: string;
}

const styleCache = new WeakMap<AnsiStyle, CSSProperties>();

/** The inline style of a segment: values from the ANSI palette only. */
function cssOf(style: AnsiStyle): CSSProperties {
  let css = styleCache.get(style);
  if (css === undefined) {
    css = {};
    if (style.color !== undefined) css.color = style.color;
    if (style.background !== undefined) css.backgroundColor = style.background;
    if (style.bold) css.fontWeight = "bold";
    if (style.dim) css.opacity = 0.65;
    if (style.italic) css.fontStyle = "italic";
    if (style.underline) css.textDecoration = "underline";
    styleCache.set(style, css);
  }
  return css;
}

const LogRow = memo(function LogRow({ entry, start }: { entry: LogEntry; start: number }) {
  const { segments } = parseAnsi(entry.text, entry.startStyle);
  return (
    <div
      className={entry.cout ? "log-line log-cout" : "log-line"}
      data-testid="log-line"
      data-seq={entry.seq}
      style={{ transform: `translateY(${start}px)` }}
    >
      <span className="log-seq">{entry.seq}</span>
      <span className="log-time" title={formatFullTime(entry.time)}>
        {formatTimestamp(entry.time)}
      </span>
      <span className="log-text">
        {segments.map((segment, index) => (
          <span key={index} style={cssOf(segment.style)}>
            {segment.text}
          </span>
        ))}
      </span>
    </div>
  );
});

export function LogView({
  namespace,
  runId,
  job,
  attempt,
  live = true,
  initialFollow = true,
  maxLines,
  className,
}: LogViewProps) {
  const log = useLogFollow({ namespace, runId, job, attempt, follow: live, maxLines });
  const [followScroll, setFollowScroll] = useState(initialFollow);
  const scrollRef = useRef<HTMLDivElement>(null);
  const lastTop = useRef(0); // scrollTop after the last scroll we saw or made
  const lastDropped = useRef(0);
  const count = log.lines.length;
  const lines = log.lines;

  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => lines[index]?.seq ?? -index,
    overscan: 20,
  });

  // Keep the end in view while following; otherwise keep the same lines in view when the
  // oldest ones are let go (the rows below move up by as many).
  useLayoutEffect(() => {
    const element = scrollRef.current;
    const droppedNow = log.dropped - lastDropped.current;
    lastDropped.current = log.dropped;
    if (!element) return;
    if (followScroll) {
      element.scrollTop = element.scrollHeight;
    } else if (droppedNow > 0) {
      element.scrollTop = Math.max(0, element.scrollTop - droppedNow * ROW_HEIGHT);
    }
    lastTop.current = element.scrollTop;
  }, [count, log.dropped, followScroll]);

  const onScroll = useCallback(() => {
    const element = scrollRef.current;
    if (!element) return;
    const top = element.scrollTop;
    const atEnd = element.scrollHeight - top - element.clientHeight <= ROW_HEIGHT / 2;
    // Only the user scrolls up: lines arriving never move scrollTop, and following scrolls down.
    if (top < lastTop.current - 1 && !atEnd) setFollowScroll(false);
    else if (top > lastTop.current && atEnd) setFollowScroll(true);
    lastTop.current = top;
  }, []);

  const jumpToEnd = useCallback(() => {
    const element = scrollRef.current;
    if (element) element.scrollTop = element.scrollHeight;
    setFollowScroll(true);
  }, []);

  let status: string;
  if (log.done) status = count === 0 && log.dropped === 0 ? "the attempt ended (no output)" : "the attempt ended";
  else if (log.error && !log.retrying) status = "stopped reading the log";
  else if (!log.loaded) status = "loading…";
  else if (live) status = "waiting for output…";
  else status = "live updates are off";

  return (
    <div className={className ? `log-view ${className}` : "log-view"} data-testid="log-view">
      <div className="log-toolbar">
        <label className="log-follow">
          <input
            type="checkbox"
            data-testid="log-follow"
            checked={followScroll}
            onChange={(event) => setFollowScroll(event.target.checked)}
          />
          Follow
        </label>
        <span className="log-count" data-testid="log-count">
          {count.toLocaleString()} {count === 1 ? "line" : "lines"}
        </span>
        {log.dropped > 0 && (
          <span className="log-dropped" data-testid="log-dropped">
            the first {log.dropped.toLocaleString()} lines are no longer kept (memory limit)
          </span>
        )}
      </div>
      <div className="log-body">
        <div className="log-scroll" ref={scrollRef} onScroll={onScroll} tabIndex={0} role="log" aria-live="off">
          <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const entry = lines[item.index];
              return entry ? <LogRow key={item.key} entry={entry} start={item.start} /> : null;
            })}
          </div>
        </div>
        {!followScroll && count > 0 && (
          <button type="button" className="log-jump-end" data-testid="log-jump-end" onClick={jumpToEnd}>
            Jump to end ↓
          </button>
        )}
      </div>
      {log.error && (
        <div className="log-error" data-testid="log-error">
          <ErrorNote error={log.error} />
          {log.retrying && <span className="log-retrying">trying again shortly…</span>}
        </div>
      )}
      <div className={log.done ? "log-status log-ended" : "log-status"} data-testid="log-status" role="status">
        {status}
      </div>
    </div>
  );
}
