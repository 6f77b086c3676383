// The log of one job attempt as the viewer holds it: the lines received so far, in `seq`
// order, each with the ANSI style it starts with (styles may carry over from one line to
// the next, so this is worked out once, as lines arrive, and rows can then be drawn in
// any order), its visible text (what search looks in) and the stream it was written to.
// Memory is capped: past `maxLines`, the oldest lines are let go and counted.
//
// Pure TypeScript: every function returns a new value and changes none it is given.

import type { LogLine, LogStream } from "../api/types";
import { ansiEndStyle, PLAIN, stripAnsi, type AnsiStyle } from "./ansi";

/** How many lines the viewer keeps by default (at 20 px a row, 4,000,000 px of list). */
export const MAX_LINES = 200_000;

export interface LogEntry extends LogLine {
  /** The style in force at the start of the line (what the lines before it left). */
  readonly startStyle: AnsiStyle;
  /** The text as it reads, without escape sequences. */
  readonly plain: string;
  /** "stdout", "stderr", or "" where the server does not say (its own notes, CloudWatch). */
  readonly stream: LogStream;
}

export interface LogBuffer {
  /** The lines kept, oldest first, `seq` strictly increasing. */
  readonly entries: readonly LogEntry[];
  /** How many of the oldest lines were let go to stay within the cap. */
  readonly dropped: number;
  /** The highest `seq` received, 0 before any line. */
  readonly lastSeq: number;
  /** The style the last line ended with: the next line starts with it. */
  readonly endStyle: AnsiStyle;
}

export const EMPTY_LOG: LogBuffer = Object.freeze({
  entries: Object.freeze([]) as readonly LogEntry[],
  dropped: 0,
  lastSeq: 0,
  endStyle: PLAIN,
});

/** Whether a line is a `[COUT] KEY = value` output line, as the server marked it. */
export function isCout(line: Pick<LogLine, "cout">): boolean {
  return line.cout === true;
}

/** The stream a line was written to, as the server said; "" for anything else. */
export function streamOf(line: Pick<LogLine, "stream">): LogStream {
  return line.stream === "stdout" || line.stream === "stderr" ? line.stream : "";
}

/**
 * The log with a page of lines added. Lines it already has (`seq` not above the last one)
 * are skipped, so a page read twice adds nothing; past `maxLines`, the oldest lines go.
 * Returns `log` itself when nothing was added.
 */
export function appendLines(log: LogBuffer, lines: readonly LogLine[], maxLines: number = MAX_LINES): LogBuffer {
  const added: LogEntry[] = [];
  let lastSeq = log.lastSeq;
  let style = log.endStyle;
  for (const line of lines) {
    if (!(line.seq > lastSeq)) continue;
    const text = typeof line.text === "string" ? line.text : "";
    added.push({
      seq: line.seq,
      time: line.time,
      text,
      cout: isCout(line),
      stream: streamOf(line),
      startStyle: style,
      plain: stripAnsi(text),
    });
    style = ansiEndStyle(text, style);
    lastSeq = line.seq;
  }
  if (added.length === 0) return log;

  const cap = Math.max(1, Math.floor(Number.isFinite(maxLines) ? maxLines : MAX_LINES));
  const kept = log.entries;
  const excess = Math.max(0, kept.length + added.length - cap);
  let entries: readonly LogEntry[];
  if (excess === 0) entries = kept.concat(added);
  else if (excess >= kept.length) entries = added.slice(excess - kept.length);
  else entries = kept.slice(excess).concat(added);
  return { entries, dropped: log.dropped + excess, lastSeq, endStyle: style };
}

const two = (value: number) => String(value).padStart(2, "0");

/** A line's time as `HH:MM:SS.mmm`, local time; empty when the time is not a number. */
export function formatTimestamp(seconds: number): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  const date = new Date(Math.round(seconds * 1000));
  if (Number.isNaN(date.getTime())) return "";
  const millis = String(date.getMilliseconds()).padStart(3, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${millis}`;
}

/** A line's date and time in full, in the browser's locale (for a tooltip). */
export function formatFullTime(seconds: number): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  const date = new Date(Math.round(seconds * 1000));
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}
