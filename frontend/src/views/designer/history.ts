// Undo and redo of the draft, as a pure value: what was, what is, what was undone. Every
// edit is a step, except that the keystrokes of one typing session (same merge key: one
// text field, from focus to blur) make one step, so Ctrl+Z takes back a word, not a letter;
// typing that ends where it began leaves no step at all. An edit that changes nothing
// leaves no step either. The oldest steps go past LIMIT.

export interface History<T> {
  past: T[]; // oldest first
  present: T;
  future: T[]; // the next redo first
  mergeKey?: unknown; // the typing session the present step belongs to (compared with ===)
  revision: number; // counts the undos, redos and resets: views that copy the present re-read it
}

export const LIMIT = 200;

export type Same<T> = (a: T, b: T) => boolean;

export function startHistory<T>(present: T, revision = 0): History<T> {
  return { past: [], present, future: [], revision };
}

/** The history with `next` as the present, in the present step when the merge key is the same. */
export function record<T>(history: History<T>, next: T, mergeKey: unknown, same: Same<T>): History<T> {
  if (next === history.present || same(next, history.present)) return history;
  const previous = history.past.at(-1);
  if (mergeKey !== undefined && mergeKey === history.mergeKey && previous !== undefined) {
    if (same(next, previous)) return { ...history, past: history.past.slice(0, -1), present: previous, future: [], mergeKey: undefined };
    return { ...history, present: next, future: [], mergeKey };
  }
  const past = [...history.past, history.present].slice(-LIMIT);
  return { ...history, past, present: next, future: [], mergeKey };
}

/** Ends the typing session: the next edit starts a step of its own. */
export function seal<T>(history: History<T>): History<T> {
  return history.mergeKey === undefined ? history : { ...history, mergeKey: undefined };
}

export function undo<T>(history: History<T>): History<T> {
  const previous = history.past.at(-1);
  if (previous === undefined) return history;
  return {
    past: history.past.slice(0, -1),
    present: previous,
    future: [history.present, ...history.future],
    revision: history.revision + 1,
  };
}

export function redo<T>(history: History<T>): History<T> {
  const [next, ...rest] = history.future;
  if (next === undefined) return history;
  return { past: [...history.past, history.present], present: next, future: rest, revision: history.revision + 1 };
}

export const canUndo = (history: History<unknown>) => history.past.length > 0;
export const canRedo = (history: History<unknown>) => history.future.length > 0;
