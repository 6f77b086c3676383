// Where things are in a workflow's YAML text: the line a problem's path
// (`spec.stages[1].actions[0].jobs[0].data.repo`, as the server writes it) points at, and
// the marks the YAML editor shows (the server's problems and the text's own syntax errors),
// each with the line and the range to underline. Pure: the editor only draws the marks.
//
// Decisions: a path is followed as far as the text goes; a field that is missing (the
// server says "required field 'name' is missing" at the mapping that lacks it) or an index
// past the end of a list marks the nearest part that is written, and says it is not exact.
// A map key is matched whole, the longest key first, so a key holding a dot still matches.
// An alias is not followed: the mark sits on the alias, where the user wrote it. A mark
// underlines from where its node starts to the end of that line.
import { isMap, isScalar, isSeq } from "yaml";
import type { Problem } from "../api/types";
import { readYaml, type ReadYaml } from "./yaml";

export interface YamlPlace {
  line: number; // 1-based
  from: number; // offsets in the text
  to: number;
  exact: boolean; // the whole path is written; otherwise the place is its nearest written part
}

export interface YamlMark extends YamlPlace {
  message: string;
  source: "syntax" | "check" | "shape";
  path?: string; // the problem's path, for the server's problems
}

const INDEX = /^\[(\d+)\]/;

const startOf = (node: unknown): number | undefined => {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range ? range[0] : undefined;
};

const keyText = (key: unknown): string => String(isScalar(key) ? key.value : key);

/** Offset of the end of the line `from` is on, without its trailing blanks. */
function lineEnd(text: string, from: number): number {
  const newline = text.indexOf("\n", from);
  let end = newline === -1 ? text.length : newline;
  while (end > from && /[ \t\r]/.test(text[end - 1] ?? "")) end -= 1;
  return end;
}

function place(read: ReadYaml, from: number, exact: boolean): YamlPlace {
  const at = Math.max(0, Math.min(from, read.text.length));
  return { line: read.lines.linePos(at).line, from: at, to: lineEnd(read.text, at), exact };
}

/** Where `path` is written in what `read` holds. */
export function placeOfPath(read: ReadYaml, path: string): YamlPlace {
  let node: unknown = read.document.contents;
  let at = startOf(node) ?? 0;
  let rest = path;
  while (rest) {
    const index = INDEX.exec(rest);
    if (index) {
      const item: unknown = isSeq(node) ? node.items[Number(index[1])] : undefined;
      if (item === undefined) return place(read, at, false);
      node = item;
      at = startOf(item) ?? at;
      rest = rest.slice(index[0].length);
      continue;
    }
    const body = rest.startsWith(".") ? rest.slice(1) : rest;
    if (!isMap(node)) return place(read, at, false); // an alias too
    let found: { key: string; value: unknown; start: number } | undefined;
    for (const pair of node.items) {
      const key = keyText(pair.key);
      const follows = body.slice(key.length, key.length + 1);
      const matches = body.startsWith(key) && (follows === "" || follows === "." || follows === "[");
      if (matches && (!found || key.length > found.key.length)) {
        found = { key, value: pair.value, start: startOf(pair.key) ?? at };
      }
    }
    if (!found) return place(read, at, false);
    at = found.start;
    node = found.value;
    rest = body.slice(found.key.length);
  }
  return place(read, at, true);
}

/** The text's syntax errors, and each problem where its path is written. */
export function yamlMarks(text: string, problems: readonly Problem[]): YamlMark[] {
  return marksOfRead(readYaml(text), problems);
}

/** yamlMarks, on a text already read. */
export function marksOfRead(read: ReadYaml, problems: readonly Problem[]): YamlMark[] {
  const syntax = read.document.errors.map((error): YamlMark => {
    const where = place(read, error.pos[0], true);
    const to = Math.max(where.from, Math.min(error.pos[1], where.to));
    return { ...where, to, message: error.message, source: "syntax" };
  });
  const checked = problems.map(
    (problem): YamlMark => ({ ...placeOfPath(read, problem.path), message: problem.message, source: "check", path: problem.path }),
  );
  return [...syntax, ...checked].sort((a, b) => a.from - b.from);
}
