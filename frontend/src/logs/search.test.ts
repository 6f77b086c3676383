import { describe, expect, it } from "vitest";
import { parseAnsi } from "./ansi";
import {
  findMatches,
  firstMatchFrom,
  isCaseSensitive,
  markSegments,
  matchCountText,
  MAX_MATCHES,
  NO_MATCHES,
  rangesIn,
  stepMatch,
} from "./search";

const ESC = "\u001b";
const log = (...texts: string[]) => texts.map((plain, index) => ({ seq: index + 1, plain }));

describe("searching a log", () => {
  it("finds every occurrence in order, line by line", () => {
    const result = findMatches(log("error: one", "fine", "an error and another error"), "error");
    expect(result.matches).toEqual([
      { index: 0, seq: 1, start: 0, end: 5 },
      { index: 2, seq: 3, start: 3, end: 8 },
      { index: 2, seq: 3, start: 21, end: 26 },
    ]);
    expect(result.capped).toBe(false);
  });

  it("ignores case unless the query has a capital letter", () => {
    expect(isCaseSensitive("error")).toBe(false);
    expect(isCaseSensitive("Error")).toBe(true);
    expect(findMatches(log("ERROR", "Error", "error"), "error").matches.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(findMatches(log("ERROR", "Error", "error"), "Error").matches.map((m) => m.seq)).toEqual([2]);
  });

  it("takes the query literally, regular-expression characters and all", () => {
    expect(rangesIn("a.b axb [x] (y)", "a.b")).toEqual([[0, 3]]);
    expect(rangesIn("a.b axb [x] (y)", "[x]")).toEqual([[8, 11]]);
    expect(rangesIn("cost $5 ^ | \\ /", "$5 ^ | \\ /")).toEqual([[5, 15]]);
  });

  it("does not count overlapping occurrences twice", () => {
    expect(rangesIn("aaaa", "aa")).toEqual([[0, 2], [2, 4]]);
  });

  it("keeps offsets in the line's own text when case folding changes lengths", () => {
    expect(rangesIn("İstanbul istanbul", "istanbul")).toEqual([[9, 17]]);
  });

  it("finds nothing for an empty query", () => {
    expect(findMatches(log("anything"), "")).toBe(NO_MATCHES);
  });

  it("stops at the cap and says there are more", () => {
    const many = log(...Array.from({ length: 50 }, () => "x x"));
    const result = findMatches(many, "x", 7);
    expect(result.matches).toHaveLength(7);
    expect(result.capped).toBe(true);
    expect(matchCountText(result, -1)).toBe("7+ matches");
    expect(MAX_MATCHES).toBe(10_000);
  });

  it("says where the user is among the matches", () => {
    const result = findMatches(log("a", "a", "a"), "a");
    expect(matchCountText(result, 1)).toBe("2 of 3");
    expect(matchCountText(result, -1)).toBe("3 matches");
    expect(matchCountText(NO_MATCHES, -1)).toBe("no matches");
  });
});

describe("stepping through matches", () => {
  it("goes down and up, round the ends", () => {
    expect(stepMatch(-1, 3, 1)).toBe(0);
    expect(stepMatch(-1, 3, -1)).toBe(2);
    expect(stepMatch(0, 3, 1)).toBe(1);
    expect(stepMatch(2, 3, 1)).toBe(0);
    expect(stepMatch(0, 3, -1)).toBe(2);
    expect(stepMatch(0, 0, 1)).toBe(-1);
  });

  it("starts a new search at the first match from the lines in view", () => {
    const result = findMatches(log("x", "", "", "x", "", "x"), "x");
    expect(firstMatchFrom(result, 0)).toBe(0);
    expect(firstMatchFrom(result, 2)).toBe(1);
    expect(firstMatchFrom(result, 5)).toBe(2);
    expect(firstMatchFrom(result, 6)).toBe(0); // past the last: round to the first
    expect(firstMatchFrom(NO_MATCHES, 0)).toBe(-1);
  });
});

describe("marking matches in a styled line", () => {
  it("cuts segments where matches begin and end and keeps each piece's style", () => {
    const { segments } = parseAnsi(`plain ${ESC}[31mred error${ESC}[0m tail error`);
    const ranges = rangesIn(segments.map((segment) => segment.text).join(""), "error");
    const marked = markSegments(segments, ranges, 1);
    expect(marked.map((piece) => [piece.text, piece.mark, piece.style.color ?? null])).toEqual([
      ["plain ", 0, null],
      ["red ", 0, "#e06c75"],
      ["error", 1, "#e06c75"],
      [" tail ", 0, null],
      ["error", 2, null],
    ]);
  });

  it("marks a match that spans two segments in both", () => {
    const { segments } = parseAnsi(`ab${ESC}[1mcd${ESC}[0mef`);
    const marked = markSegments(segments, [[1, 5]]);
    expect(marked.map((piece) => [piece.text, piece.mark])).toEqual([
      ["a", 0],
      ["b", 1],
      ["cd", 1],
      ["e", 1],
      ["f", 0],
    ]);
  });

  it("leaves a line without matches as it was", () => {
    const { segments } = parseAnsi("nothing here");
    expect(markSegments(segments, [])).toEqual([{ text: "nothing here", style: segments[0]?.style, mark: 0 }]);
  });
});
