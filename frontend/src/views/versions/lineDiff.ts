// A line diff of two texts (two versions' YAML exports), for the versions view: which lines
// the newer text removed, added or kept, and the kept runs folded down to a few lines of
// context around each change, as `diff -u` shows them. Workflow files are small (hundreds of
// lines), so the longest common subsequence is found with the plain O(n·m) table, after
// taking off the common head and tail (most versions change a few lines in one place).
// Pure: strings in, data out; the view shows it as text.

export type LineKind = "same" | "added" | "removed";

export interface DiffLine {
  kind: LineKind;
  text: string;
  /** Its number in the older text (none for an added line). */
  before?: number;
  /** Its number in the newer text (none for a removed line). */
  after?: number;
}

/** A run of unchanged lines left out of the view, with where it starts in both texts. */
export interface Fold {
  kind: "fold";
  count: number;
  before: number;
  after: number;
}

export type DiffRow = DiffLine | Fold;

export interface DiffSummary {
  added: number;
  removed: number;
}

/** Past this many cells the table would be too big for a browser tab: the middle is then
 * shown as all removed and all added (still a correct diff, only not the shortest). */
const MAX_TABLE_CELLS = 4_000_000;

/** The lines of a text; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Every line of both texts in order: kept, removed from `older`, added in `newer`. */
export function diffLines(older: string, newer: string): DiffLine[] {
  const a = splitLines(older);
  const b = splitLines(newer);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;

  const lines: DiffLine[] = [];
  a.slice(0, head).forEach((text, i) => lines.push({ kind: "same", text, before: i + 1, after: i + 1 }));
  lines.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail), head));
  a.slice(a.length - tail).forEach((text, k) => {
    lines.push({ kind: "same", text, before: a.length - tail + k + 1, after: b.length - tail + k + 1 });
  });
  return lines;
}

/** The differing middle, by the LCS table; `offset`: the lines before it in both texts. */
function middle(a: string[], b: string[], offset: number): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const removed = (i: number): DiffLine => ({ kind: "removed", text: a[i] ?? "", before: offset + i + 1 });
  const added = (j: number): DiffLine => ({ kind: "added", text: b[j] ?? "", after: offset + j + 1 });
  if (n * m > MAX_TABLE_CELLS) {
    return [...a.map((_, i) => removed(i)), ...b.map((_, j) => added(j))];
  }
  // common(i, j): the longest common subsequence of a[i..] and b[j..], in one flat array.
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  const common = (i: number, j: number) => table[i * width + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j] ? common(i + 1, j + 1) + 1 : Math.max(common(i + 1, j), common(i, j + 1));
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      lines.push({ kind: "same", text: a[i] ?? "", before: offset + i + 1, after: offset + j + 1 });
      i++;
      j++;
    } else if (common(i + 1, j) >= common(i, j + 1)) {
      lines.push(removed(i++)); // removals first, as diff -u writes a changed line
    } else {
      lines.push(added(j++));
    }
  }
  while (i < n) lines.push(removed(i++));
  while (j < m) lines.push(added(j++));
  return lines;
}

/**
 * The lines to show: every change with `context` kept lines either side, each longer run of
 * kept lines (two or more) folded into one row that says how many lines it hides.
 */
export function foldUnchanged(lines: DiffLine[], context = 3): DiffRow[] {
  const near = new Array<boolean>(lines.length).fill(false);
  lines.forEach((line, index) => {
    if (line.kind === "same") return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) near[k] = true;
  });
  const rows: DiffRow[] = [];
  let run: DiffLine[] = []; // kept lines far from every change, not shown yet
  const flush = () => {
    const [first] = run;
    if (first && run.length === 1) rows.push(first); // a row saying "1 line" hides nothing worth hiding
    else if (first) rows.push({ kind: "fold", count: run.length, before: first.before ?? 0, after: first.after ?? 0 });
    run = [];
  };
  lines.forEach((line, index) => {
    if (near[index]) {
      flush();
      rows.push(line);
    } else {
      run.push(line);
    }
  });
  flush();
  return rows;
}

export function summarise(lines: DiffLine[]): DiffSummary {
  return {
    added: lines.filter((line) => line.kind === "added").length,
    removed: lines.filter((line) => line.kind === "removed").length,
  };
}
