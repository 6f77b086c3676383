import { describe, expect, it } from "vitest";
import type { LogLine } from "../api/types";
import { color256, PLAIN } from "./ansi";
import { appendLines, EMPTY_LOG, formatTimestamp, isCout, MAX_LINES } from "./lines";

const ESC = "\u001b";

function line(seq: number, text = `line ${seq}`, cout = false): LogLine {
  return { seq, time: 1_700_000_000 + seq, text, cout };
}

function lines(from: number, to: number): LogLine[] {
  const all: LogLine[] = [];
  for (let seq = from; seq <= to; seq++) all.push(line(seq));
  return all;
}

const seqs = (log: { entries: readonly { seq: number }[] }) => log.entries.map((entry) => entry.seq);

describe("the log model", () => {
  it("keeps each line's stream and its text as it reads", () => {
    const log = appendLines(EMPTY_LOG, [
      { seq: 1, time: 1, text: `${ESC}[31mred${ESC}[0m text`, cout: false, stream: "stdout" },
      { seq: 2, time: 2, text: "error: no entry", cout: false, stream: "stderr" },
      { seq: 3, time: 3, text: "a note", cout: false, stream: "" },
      { seq: 4, time: 4, text: "from an older server", cout: false },
      { seq: 5, time: 5, text: "odd", cout: false, stream: "stdin" as never },
    ]);
    expect(log.entries.map((entry) => [entry.stream, entry.plain])).toEqual([
      ["stdout", "red text"],
      ["stderr", "error: no entry"],
      ["", "a note"],
      ["", "from an older server"],
      ["", "odd"],
    ]);
  });

  it("starts empty", () => {
    expect(EMPTY_LOG.entries).toEqual([]);
    expect(EMPTY_LOG.dropped).toBe(0);
    expect(EMPTY_LOG.lastSeq).toBe(0);
  });

  it("appends pages in order and remembers the last seq", () => {
    const log = appendLines(appendLines(EMPTY_LOG, lines(1, 3)), lines(4, 5));
    expect(seqs(log)).toEqual([1, 2, 3, 4, 5]);
    expect(log.lastSeq).toBe(5);
    expect(log.entries[3]).toMatchObject({ seq: 4, text: "line 4", time: 1_700_000_004, cout: false });
  });

  it("changes nothing it was given", () => {
    const first = appendLines(EMPTY_LOG, lines(1, 2));
    const before = [...first.entries];
    appendLines(first, lines(3, 4));
    expect(first.entries).toEqual(before);
    expect(EMPTY_LOG.entries).toEqual([]);
  });

  it("skips lines it already has, so a page read twice adds nothing", () => {
    const once = appendLines(EMPTY_LOG, lines(1, 3));
    expect(appendLines(once, lines(1, 3))).toBe(once);
    expect(seqs(appendLines(once, lines(2, 5)))).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps at most maxLines, dropping the oldest and counting them", () => {
    let log = appendLines(EMPTY_LOG, lines(1, 4), 5);
    expect(log.dropped).toBe(0);
    log = appendLines(log, lines(5, 7), 5);
    expect(seqs(log)).toEqual([3, 4, 5, 6, 7]);
    expect(log.dropped).toBe(2);
    log = appendLines(log, lines(8, 8), 5);
    expect(seqs(log)).toEqual([4, 5, 6, 7, 8]);
    expect(log.dropped).toBe(3);
  });

  it("keeps only the newest lines of a page bigger than the cap", () => {
    const log = appendLines(appendLines(EMPTY_LOG, lines(1, 2), 3), lines(3, 10), 3);
    expect(seqs(log)).toEqual([8, 9, 10]);
    expect(log.dropped).toBe(7);
    expect(log.lastSeq).toBe(10);
  });

  it("keeps 200,000 lines by default", () => {
    expect(MAX_LINES).toBe(200_000);
    let log = EMPTY_LOG;
    for (let page = 0; page < 201; page++) log = appendLines(log, lines(page * 1000 + 1, page * 1000 + 1000));
    expect(log.entries.length).toBe(200_000);
    expect(log.dropped).toBe(1000);
    expect(log.entries[0]?.seq).toBe(1001);
  });

  it("marks [COUT] lines from the server's cout flag, not from the text", () => {
    const log = appendLines(EMPTY_LOG, [
      line(1, "[COUT] VERSION = 1.2.3", true),
      line(2, "echo '[COUT] NOT = an output'", false),
    ]);
    expect(log.entries.map((entry) => entry.cout)).toEqual([true, false]);
    expect(isCout({ cout: true })).toBe(true);
    expect(isCout({ cout: false })).toBe(false);
  });

  it("records the style each line starts with, carried over from the lines before", () => {
    const log = appendLines(EMPTY_LOG, [
      line(1, "plain"),
      line(2, `${ESC}[31mred starts here`),
      line(3, "still red"),
      line(4, `${ESC}[0mreset`),
      line(5, "plain again"),
    ]);
    const red = { color: color256(1) };
    expect(log.entries.map((entry) => entry.startStyle)).toEqual([PLAIN, PLAIN, red, red, PLAIN]);
    expect(log.endStyle).toBe(PLAIN);
  });

  it("carries a style over from one page to the next", () => {
    const first = appendLines(EMPTY_LOG, [line(1, `${ESC}[1m`)]);
    const second = appendLines(first, [line(2, "bold")]);
    expect(second.entries[1]?.startStyle).toEqual({ bold: true });
  });

  it("formats a time as HH:MM:SS.mmm in local time", () => {
    const seconds = new Date(2025, 0, 2, 3, 4, 5, 67).getTime() / 1000;
    expect(formatTimestamp(seconds)).toBe("03:04:05.067");
    const evening = new Date(2025, 5, 30, 23, 59, 58, 999).getTime() / 1000;
    expect(formatTimestamp(evening)).toBe("23:59:58.999");
  });

  it("rounds a fractional time to the nearest millisecond", () => {
    const seconds = new Date(2025, 0, 2, 13, 0, 0, 0).getTime() / 1000;
    expect(formatTimestamp(seconds + 0.1234)).toBe("13:00:00.123");
    expect(formatTimestamp(seconds + 0.9996)).toBe("13:00:01.000");
  });

  it("formats a time that is not a number as nothing", () => {
    expect(formatTimestamp(Number.NaN)).toBe("");
    expect(formatTimestamp(Number.POSITIVE_INFINITY)).toBe("");
    expect(formatTimestamp(1e20)).toBe("");
  });
});
