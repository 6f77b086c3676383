import { describe, expect, it } from "vitest";
import { commandOf, type KeyPress } from "./shortcuts";

const press = (key: string, more: Partial<KeyPress> = {}): KeyPress => ({
  key,
  ctrl: false,
  shift: false,
  alt: false,
  inField: false,
  ownKeys: false,
  ...more,
});

describe("the designer's keyboard", () => {
  it("saves on Ctrl+S or Cmd+S, even with the focus in a text field or the YAML editor", () => {
    expect(commandOf(press("s", { ctrl: true }))).toBe("save");
    expect(commandOf(press("S", { ctrl: true }))).toBe("save"); // caps lock
    expect(commandOf(press("s", { ctrl: true, inField: true }))).toBe("save");
    expect(commandOf(press("s", { ctrl: true, ownKeys: true, inField: true }))).toBe("save");
    expect(commandOf(press("s"))).toBeUndefined();
    expect(commandOf(press("s", { ctrl: true, alt: true }))).toBeUndefined();
  });

  it("undoes on Ctrl+Z and redoes on Ctrl+Shift+Z or Ctrl+Y, from a panel's text field too", () => {
    expect(commandOf(press("z", { ctrl: true }))).toBe("undo");
    expect(commandOf(press("z", { ctrl: true, inField: true }))).toBe("undo");
    expect(commandOf(press("Z", { ctrl: true, shift: true }))).toBe("redo");
    expect(commandOf(press("y", { ctrl: true }))).toBe("redo");
    expect(commandOf(press("z"))).toBeUndefined();
  });

  it("leaves Ctrl+Z to an element that keeps its keys: the YAML editor undoes its own text", () => {
    expect(commandOf(press("z", { ctrl: true, inField: true, ownKeys: true }))).toBeUndefined();
    expect(commandOf(press("y", { ctrl: true, inField: true, ownKeys: true }))).toBeUndefined();
  });

  it("deletes the selection on Delete or Backspace, but not while text is being typed", () => {
    expect(commandOf(press("Delete"))).toBe("delete");
    expect(commandOf(press("Backspace"))).toBe("delete");
    expect(commandOf(press("Delete", { inField: true }))).toBeUndefined();
    expect(commandOf(press("Backspace", { inField: true }))).toBeUndefined();
    expect(commandOf(press("Delete", { ownKeys: true }))).toBeUndefined();
    expect(commandOf(press("Delete", { ctrl: true }))).toBeUndefined();
  });

  it("lists the shortcuts on ?, which is a character in a text field", () => {
    expect(commandOf(press("?", { shift: true }))).toBe("help");
    expect(commandOf(press("?", { shift: true, inField: true }))).toBeUndefined();
  });

  it("leaves every other key alone", () => {
    for (const key of ["a", "Enter", "Escape", "ArrowLeft", " "]) expect(commandOf(press(key))).toBeUndefined();
  });
});
