// A job attempt's log: a virtualised list of rows (only the rows in view are in the page, so
// 100,000+ lines scroll smoothly), each with its number (a link to that line), its time, a
// mark for stderr and its text. The text is drawn from its ANSI segments as React text
// children with inline style objects, never as HTML: a line reading
// `<img src=x onerror=alert(1)>` shows exactly that.
//
// "Follow" keeps the end of the log in view as lines arrive; scrolling up turns it off,
// scrolling back down to the end (or "Jump to end") turns it on again. Lines keep being
// read either way while `live` is on. "Wrap" folds long lines (rows then take the height
// they need and are measured); the choice is remembered. Search marks every occurrence in
// the lines held and steps through them (Enter, Shift+Enter; Ctrl+F in the log focuses it;
// the browser's own find cannot see rows that are not drawn). "Download" saves every line
// of the attempt, read afresh from the server. A line named by the address (`targetLine`)
// is scrolled to and marked once it has arrived, and following stays off.

import { useVirtualizer } from "@tanstack/react-virtual";
import {
  memo,
  useCallback,
  useDeferredValue,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
} from "react";
import { api } from "../api/client";
import { ErrorNote } from "../ui/ErrorNote";
import { parseAnsi, type AnsiStyle } from "./ansi";
import { logFileName, readWholeLog, saveText } from "./download";
import { formatFullTime, formatTimestamp, type LogEntry } from "./lines";
import {
  findMatches,
  firstMatchFrom,
  markSegments,
  matchCountText,
  matcherOf,
  rangesIn,
  stepMatch,
  type LogMatch,
} from "./search";
import { useLogFollow } from "./useLogFollow";
import "./logs.css";

/** The height of a row, in px, unwrapped; `.log-line` in logs.css has the same. */
export const ROW_HEIGHT = 20;
const WRAP_KEY = "containerops.logWrap";

export interface LogViewProps {
  namespace: string;
  runId: string;
  job: string;
  attempt: number;
  /** Keep reading new lines while the attempt runs (default true). */
  live?: boolean;
  /** Start with "Follow" on (default true, false when `targetLine` is given). */
  initialFollow?: boolean;
  /** How many lines to keep in memory (default 200,000). */
  maxLines?: number;
  /** Added to the `log-view` element's classes (to size it, for one). */
  className?: string;
  /** The line to scroll to and mark (its `seq`), e.g. from a shared link. */
  targetLine?: number;
  /** The link of a line: its number links there (a permalink). */
  lineHref?: (seq: number) => string;
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

function rememberedWrap(): boolean {
  try {
    return localStorage.getItem(WRAP_KEY) === "1";
  } catch {
    return false;
  }
}

interface RowProps {
  entry: LogEntry;
  index: number;
  start: number;
  /** The search's pattern, when there is a search. */
  pattern: RegExp | null;
  /** Where the current match starts on this row (-1: not on this row). */
  currentStart: number;
  target: boolean;
  href: string | undefined;
  measure: ((element: HTMLDivElement | null) => void) | undefined;
}

const LogRow = memo(function LogRow({ entry, index, start, pattern, currentStart, target, href, measure }: RowProps) {
  const { segments } = parseAnsi(entry.text, entry.startStyle);
  const ranges = pattern ? rangesIn(entry.plain, pattern) : [];
  const current = ranges.findIndex(([from]) => from === currentStart);
  const classes = ["log-line"];
  if (entry.cout) classes.push("log-cout");
  if (entry.stream === "stderr") classes.push("log-stderr");
  if (target) classes.push("log-target");
  return (
    <div
      className={classes.join(" ")}
      data-testid="log-line"
      data-seq={entry.seq}
      data-stream={entry.stream || undefined}
      data-index={index}
      ref={measure}
      style={{ transform: `translateY(${start}px)` }}
    >
      {href ? (
        <a className="log-seq" href={href} title="Link to this line" data-testid="log-line-link">
          {entry.seq}
        </a>
      ) : (
        <span className="log-seq">{entry.seq}</span>
      )}
      <span className="log-time" title={formatFullTime(entry.time)}>
        {formatTimestamp(entry.time)}
      </span>
      <span className="log-stream" title={entry.stream === "stderr" ? "written to stderr" : undefined}>
        {entry.stream === "stderr" ? "err" : ""}
      </span>
      <span className="log-text">
        {markSegments(segments, ranges, current).map((piece, position) =>
          piece.mark ? (
            <mark key={position} className={piece.mark === 2 ? "log-match log-match-current" : "log-match"} style={cssOf(piece.style)}>
              {piece.text}
            </mark>
          ) : (
            <span key={position} style={cssOf(piece.style)}>
              {piece.text}
            </span>
          ),
        )}
      </span>
    </div>
  );
});

/** The position of the line numbered `seq` among `lines` (numbers increase), or -1. */
function indexOfSeq(lines: readonly LogEntry[], seq: number): number {
  let low = 0;
  let high = lines.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = lines[middle]?.seq ?? 0;
    if (value === seq) return middle;
    if (value < seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

export function LogView({
  namespace,
  runId,
  job,
  attempt,
  live = true,
  initialFollow,
  maxLines,
  className,
  targetLine,
  lineHref,
}: LogViewProps) {
  const log = useLogFollow({ namespace, runId, job, attempt, follow: live, maxLines });
  const [followScroll, setFollowScroll] = useState(initialFollow ?? targetLine === undefined);
  const [wrap, setWrap] = useState(rememberedWrap);
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState<{ seq: number; start: number } | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<Error>();
  const scrollRef = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const lastTop = useRef(0); // scrollTop after the last scroll we saw or made
  const lastDropped = useRef(0);
  const scrolledToTarget = useRef<number | undefined>(undefined);
  const count = log.lines.length;
  const lines = log.lines;

  const searched = useDeferredValue(query);
  const pattern = useMemo(() => (searched ? matcherOf(searched) : null), [searched]);
  const result = useMemo(() => findMatches(lines, searched), [lines, searched]);
  const currentIndex = current
    ? result.matches.findIndex((match) => match.seq === current.seq && match.start === current.start)
    : -1;

  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => lines[index]?.seq ?? -index,
    overscan: 20,
  });

  useEffect(() => {
    try {
      localStorage.setItem(WRAP_KEY, wrap ? "1" : "0");
    } catch {
      // a browser that keeps nothing: the choice lasts for this page
    }
    virtualizer.measure();
  }, [wrap, virtualizer]);

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

  const showLine = useCallback(
    (index: number) => {
      setFollowScroll(false);
      virtualizer.scrollToIndex(index, { align: "center" });
      const element = scrollRef.current;
      if (element) lastTop.current = element.scrollTop;
    },
    [virtualizer],
  );

  // The line a link names: shown once it has arrived.
  useEffect(() => {
    if (targetLine === undefined || scrolledToTarget.current === targetLine) return;
    const index = indexOfSeq(lines, targetLine);
    if (index < 0) return;
    scrolledToTarget.current = targetLine;
    showLine(index);
  }, [lines, targetLine, showLine]);

  const goTo = useCallback(
    (match: LogMatch | undefined) => {
      if (!match) return;
      setCurrent({ seq: match.seq, start: match.start });
      showLine(match.index);
    },
    [showLine],
  );

  // A new search starts at the first match of the log while following (the end is no place
  // to start reading from), else at the first one from the lines in view, as a find in a page.
  useEffect(() => {
    if (!searched) {
      setCurrent(null);
      return;
    }
    const from = followScroll ? 0 : (virtualizer.getVirtualItems()[0]?.index ?? 0);
    goTo(result.matches[firstMatchFrom(result, from)]);
    // Only when the query changes: new lines arriving do not move the current match.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [searched]);

  const step = (direction: 1 | -1) => goTo(result.matches[stepMatch(currentIndex, result.matches.length, direction)]);

  const onSearchKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") {
      event.preventDefault();
      step(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape") {
      event.preventDefault();
      setQuery("");
    }
  };

  const onViewKey = (event: KeyboardEvent<HTMLDivElement>) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "f") {
      event.preventDefault();
      searchRef.current?.focus();
      searchRef.current?.select();
    }
  };

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

  const download = async () => {
    setDownloading(true);
    setDownloadError(undefined);
    try {
      const text = await readWholeLog(
        (after, _follow, signal, cursor) => api.logs(namespace, runId, job, attempt, after, 0, cursor, { signal }),
        new AbortController().signal,
      );
      saveText(text, logFileName(runId, job, attempt));
    } catch (failure) {
      setDownloadError(failure as Error);
    } finally {
      setDownloading(false);
    }
  };

  let status: string;
  if (log.done) status = count === 0 && log.dropped === 0 ? "the attempt ended (no output)" : "the attempt ended";
  else if (log.error && !log.retrying) status = "stopped reading the log";
  else if (!log.loaded) status = "loading…";
  else if (live) status = "waiting for output…";
  else status = "live updates are off";

  const currentMatch = result.matches[currentIndex];
  const classes = ["log-view"];
  if (wrap) classes.push("log-wrap");
  if (className) classes.push(className);
  return (
    <div className={classes.join(" ")} data-testid="log-view" onKeyDown={onViewKey}>
      <div className="log-toolbar">
        <label className="log-toggle">
          <input
            type="checkbox"
            data-testid="log-follow"
            checked={followScroll}
            onChange={(event) => setFollowScroll(event.target.checked)}
          />
          Follow
        </label>
        <label className="log-toggle">
          <input type="checkbox" data-testid="log-wrap" checked={wrap} onChange={(event) => setWrap(event.target.checked)} />
          Wrap
        </label>
        <span className="log-search" role="search">
          <input
            ref={searchRef}
            type="search"
            data-testid="log-search"
            placeholder="Search the log"
            aria-label="Search the log"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
            onKeyDown={onSearchKey}
          />
          {searched && (
            <span className="log-match-count" data-testid="log-match-count" aria-live="polite">
              {matchCountText(result, currentIndex)}
            </span>
          )}
          <button
            type="button"
            data-testid="log-search-previous"
            title="Previous match (Shift+Enter)"
            aria-label="Previous match"
            disabled={result.matches.length === 0}
            onClick={() => step(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            data-testid="log-search-next"
            title="Next match (Enter)"
            aria-label="Next match"
            disabled={result.matches.length === 0}
            onClick={() => step(1)}
          >
            ↓
          </button>
        </span>
        <span className="log-count" data-testid="log-count">
          {count.toLocaleString()} {count === 1 ? "line" : "lines"}
        </span>
        <button
          type="button"
          className="log-download"
          data-testid="log-download"
          disabled={downloading}
          onClick={() => void download()}
          title="Save every line of this attempt as a text file"
        >
          {downloading ? "Downloading…" : "Download"}
        </button>
        {log.dropped > 0 && (
          <span className="log-dropped" data-testid="log-dropped">
            the first {log.dropped.toLocaleString()} lines are no longer kept (memory limit; Download has them all)
          </span>
        )}
      </div>
      <div className="log-body">
        <div className="log-scroll" ref={scrollRef} onScroll={onScroll} tabIndex={0} role="log" aria-live="off">
          <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const entry = lines[item.index];
              if (!entry) return null;
              return (
                <LogRow
                  key={item.key}
                  entry={entry}
                  index={item.index}
                  start={item.start}
                  pattern={pattern}
                  currentStart={currentMatch?.seq === entry.seq ? currentMatch.start : -1}
                  target={entry.seq === targetLine}
                  href={lineHref?.(entry.seq)}
                  measure={wrap ? virtualizer.measureElement : undefined}
                />
              );
            })}
          </div>
        </div>
        {!followScroll && count > 0 && (
          <button type="button" className="log-jump-end" data-testid="log-jump-end" onClick={jumpToEnd}>
            Jump to end ↓
          </button>
        )}
      </div>
      {(log.error || downloadError) && (
        <div className="log-error" data-testid="log-error">
          <ErrorNote error={downloadError ?? log.error} />
          {log.retrying && !downloadError && <span className="log-retrying">trying again shortly…</span>}
        </div>
      )}
      <div className={log.done ? "log-status log-ended" : "log-status"} data-testid="log-status" role="status">
        {status}
      </div>
    </div>
  );
}
