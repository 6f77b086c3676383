// The designer's keyboard: which key press means which command, as data and a pure function
// (the listener in useShortcuts only reads the event into a KeyPress). Decisions: Ctrl (or
// Cmd) + S saves wherever the focus is, a text field included; Ctrl+Z / Ctrl+Shift+Z (and
// Ctrl+Y) undo and redo the designer's edits from a panel's text field too, where a typing
// session is one step; Delete / Backspace and `?` act only when the focus is not in a form
// field, where they are text; an element marked `data-own-keys` (the YAML editor, the
// palette's search, a dialog) keeps its keys to itself, so Ctrl+Z there undoes its own text.

export type Command = "save" | "undo" | "redo" | "delete" | "help";

export interface KeyPress {
  key: string; // KeyboardEvent.key
  ctrl: boolean; // Ctrl, or Cmd on a Mac
  shift: boolean;
  alt: boolean;
  inField: boolean; // the focus is in an input, textarea, select or editable text
  ownKeys: boolean; // the focus is inside an element that keeps its keys
}

/** The shortcuts as the `?` dialog lists them. */
export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: "Ctrl+S", what: "Save" },
  { keys: "Ctrl+Z", what: "Undo the last edit (on the canvas or in a panel)" },
  { keys: "Ctrl+Shift+Z", what: "Redo (Ctrl+Y too)" },
  { keys: "Delete", what: "Delete the selected job or link" },
  { keys: "?", what: "List these shortcuts" },
  { keys: "Esc", what: "Close a dialog, or put back a name being edited on the canvas" },
];

export function commandOf(press: KeyPress): Command | undefined {
  const key = press.key.length === 1 ? press.key.toLowerCase() : press.key;
  if (press.ctrl && !press.alt && !press.shift && key === "s") return "save";
  if (press.ctrl && !press.alt && !press.ownKeys) {
    if (key === "z") return press.shift ? "redo" : "undo";
    if (key === "y" && !press.shift) return "redo";
  }
  if (press.ownKeys || press.ctrl || press.alt || press.inField) return undefined;
  if (key === "Delete" || key === "Backspace") return press.shift ? undefined : "delete";
  if (key === "?") return "help";
  return undefined;
}

/** The KeyPress a keyboard event in the page is. */
export function keyPressOf(event: KeyboardEvent): KeyPress {
  const target = event.target instanceof Element ? event.target : null;
  const inField =
    target !== null &&
    (target.matches("input, textarea, select") || (target instanceof HTMLElement && target.isContentEditable));
  return {
    key: event.key,
    ctrl: event.ctrlKey || event.metaKey,
    shift: event.shiftKey,
    alt: event.altKey,
    inField,
    ownKeys: target?.closest("[data-own-keys]") != null,
  };
}
