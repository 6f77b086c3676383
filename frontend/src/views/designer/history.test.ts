import { describe, expect, it } from "vitest";
import { LIMIT, canRedo, canUndo, record, redo, seal, startHistory, undo, type History } from "./history";

const same = (a: string, b: string) => a === b;
const edits = (history: History<string>, ...steps: [string, unknown?][]) =>
  steps.reduce((current, [next, key]) => record(current, next, key, same), history);

describe("undo and redo of the draft", () => {
  it("takes back each edit in turn, and puts it back", () => {
    const history = edits(startHistory("a"), ["b"], ["c"]);
    expect(history.present).toBe("c");
    const once = undo(history);
    expect(once.present).toBe("b");
    expect(undo(once).present).toBe("a");
    expect(canUndo(undo(once))).toBe(false);
    expect(redo(undo(once)).present).toBe("b");
    expect(redo(redo(undo(once))).present).toBe("c");
    expect(canRedo(redo(redo(undo(once))))).toBe(false);
  });

  it("forgets what was undone once a new edit is made", () => {
    const history = record(undo(edits(startHistory("a"), ["b"], ["c"])), "d", undefined, same);
    expect(history.present).toBe("d");
    expect(canRedo(history)).toBe(false);
    expect(undo(history).present).toBe("b");
  });

  it("makes one step of the keystrokes of one typing session", () => {
    const field = {};
    const history = edits(startHistory("name"), ["name-", field], ["name-2", field], ["name-24", field]);
    expect(history.past).toEqual(["name"]);
    expect(undo(history).present).toBe("name");
  });

  it("starts a new step when the typing moves to another field, or the field was left", () => {
    const first = {};
    const second = {};
    const moved = edits(startHistory("a"), ["ab", first], ["abc", second]);
    expect(moved.past).toEqual(["a", "ab"]);
    const left = record(seal(edits(startHistory("a"), ["ab", first])), "abc", first, same);
    expect(left.past).toEqual(["a", "ab"]);
  });

  it("leaves no step for typing that ends where it began, nor for an edit that changes nothing", () => {
    const field = {};
    const back = edits(startHistory("a"), ["b"], ["bx", field], ["b", field]);
    expect(back.present).toBe("b");
    expect(back.past).toEqual(["a"]);
    expect(record(back, "b", undefined, same)).toBe(back);
    expect(record(back, "b", field, same)).toBe(back);
  });

  it("counts the undos and redos, so copies of the present know to re-read it", () => {
    const history = edits(startHistory("a", 4), ["b"]);
    expect(history.revision).toBe(4);
    expect(undo(history).revision).toBe(5);
    expect(redo(undo(history)).revision).toBe(6);
    expect(undo(startHistory("a"))).toEqual(startHistory("a")); // nothing to undo: nothing changes
  });

  it("keeps the last LIMIT steps", () => {
    let history = startHistory("0");
    for (let n = 1; n <= LIMIT + 5; n++) history = record(history, String(n), undefined, same);
    expect(history.past).toHaveLength(LIMIT);
    expect(history.past[0]).toBe("5");
  });
});
