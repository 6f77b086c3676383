import { describe, expect, it } from "vitest";
import { diffLines, foldUnchanged, splitLines, summarise, type DiffLine } from "./lineDiff";

const text = (...lines: string[]) => lines.map((line) => `${line}\n`).join("");
const marks = (lines: DiffLine[]) => lines.map((line) => `${{ same: " ", added: "+", removed: "-" }[line.kind]}${line.text}`);

describe("splitLines", () => {
  it("does not make an empty last line of a final newline", () => {
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("a\nb")).toEqual(["a", "b"]);
  });

  it("reads Windows line ends as plain ones and an empty text as no lines", () => {
    expect(splitLines("a\r\nb\r\n")).toEqual(["a", "b"]);
    expect(splitLines("")).toEqual([]);
  });
});

describe("diffLines", () => {
  it("keeps every line of two equal texts", () => {
    const lines = diffLines(text("a", "b"), text("a", "b"));
    expect(marks(lines)).toEqual([" a", " b"]);
    expect(summarise(lines)).toEqual({ added: 0, removed: 0 });
  });

  it("marks a changed line as removed then added, with its number in each text", () => {
    const lines = diffLines(text("kind: Workflow", "image: busybox:1", "end"), text("kind: Workflow", "image: busybox:2", "end"));
    expect(marks(lines)).toEqual([" kind: Workflow", "-image: busybox:1", "+image: busybox:2", " end"]);
    expect(lines[1]).toEqual({ kind: "removed", text: "image: busybox:1", before: 2 });
    expect(lines[2]).toEqual({ kind: "added", text: "image: busybox:2", after: 2 });
    expect(lines[3]).toEqual({ kind: "same", text: "end", before: 3, after: 3 });
  });

  it("numbers the lines after an insertion by where they are in each text", () => {
    const lines = diffLines(text("a", "c"), text("a", "b", "c"));
    expect(marks(lines)).toEqual([" a", "+b", " c"]);
    expect(lines[2]).toEqual({ kind: "same", text: "c", before: 2, after: 3 });
  });

  it("finds the longest run of kept lines, not only the common head and tail", () => {
    const lines = diffLines(text("x", "a", "b", "c", "y"), text("z", "a", "b", "c", "w"));
    expect(marks(lines)).toEqual(["-x", "+z", " a", " b", " c", "-y", "+w"]);
    expect(summarise(lines)).toEqual({ added: 2, removed: 2 });
  });

  it("keeps what two texts share when lines move", () => {
    const lines = diffLines(text("a", "b", "c", "d"), text("b", "c", "d", "a"));
    expect(marks(lines)).toEqual(["-a", " b", " c", " d", "+a"]);
  });

  it("diffs against an empty text as everything added or removed", () => {
    expect(marks(diffLines("", text("a", "b")))).toEqual(["+a", "+b"]);
    expect(marks(diffLines(text("a"), ""))).toEqual(["-a"]);
  });

  it("gives texts too long for the table every old line removed and every new one added", () => {
    const older = Array.from({ length: 2100 }, (_, i) => `old ${i}`).join("\n");
    const newer = Array.from({ length: 2100 }, (_, i) => `new ${i}`).join("\n");
    const lines = diffLines(`same\n${older}\nend`, `same\n${newer}\nend`);
    expect(summarise(lines)).toEqual({ added: 2100, removed: 2100 });
    expect(lines[0]).toEqual({ kind: "same", text: "same", before: 1, after: 1 });
    expect(lines.at(-1)).toEqual({ kind: "same", text: "end", before: 2102, after: 2102 });
  });

  it("tells a line with a final newline from the same text without one only by content", () => {
    expect(marks(diffLines("a\nb", "a\nb\n"))).toEqual([" a", " b"]);
  });
});

describe("foldUnchanged", () => {
  const many = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

  it("folds a long kept run between two changes, keeping three lines of context each side", () => {
    const older = text("first", ...many("k", 10), "last");
    const newer = text("FIRST", ...many("k", 10), "LAST");
    const rows = foldUnchanged(diffLines(older, newer));
    const shown = rows.map((row) => (row.kind === "fold" ? `… ${row.count}` : `${row.kind[0]}${row.text}`));
    expect(shown).toEqual(["rfirst", "aFIRST", "sk1", "sk2", "sk3", "… 4", "sk8", "sk9", "sk10", "rlast", "aLAST"]);
    expect(rows[5]).toEqual({ kind: "fold", count: 4, before: 5, after: 5 });
  });

  it("folds the kept head and tail of a long file around one change", () => {
    const older = text(...many("a", 20), "old", ...many("b", 20));
    const newer = text(...many("a", 20), "new", ...many("b", 20));
    const rows = foldUnchanged(diffLines(older, newer), 2);
    expect(rows[0]).toEqual({ kind: "fold", count: 18, before: 1, after: 1 });
    expect(rows.filter((row) => row.kind !== "fold").length).toBe(6);
    expect(rows[rows.length - 1]).toEqual({ kind: "fold", count: 18, before: 24, after: 24 });
  });

  it("shows a single kept line instead of folding it", () => {
    const older = text("x", "a", "b", "c", "y");
    const rows = foldUnchanged(diffLines(older, text("X", "a", "b", "c", "Y")), 1);
    expect(rows.every((row) => row.kind !== "fold")).toBe(true);
  });

  it("folds all of two equal texts into one row", () => {
    expect(foldUnchanged(diffLines(text(...many("k", 8)), text(...many("k", 8))))).toEqual([
      { kind: "fold", count: 8, before: 1, after: 1 },
    ]);
  });
});
