// A fan-out job's instances, by the server's rule (chalicelib/domain/fanout.py; the design's
// section 1): the designer shows "× N" on a job's box, and the run view names what an
// instance ran with. Pure, and cheap for 10,000 instances: nothing is listed to be counted.
//
// The rule: a job fans out when it has `matrix` or `shards`. Its combinations are the
// product of the matrix's axes (in the order written, the first axis slowest), minus every
// combination an `exclude` entry matches (each of the entry's keys has that value; partial
// entries allowed), then each `include` entry as one more combination. With `shards: S`,
// each combination is split in S shards (index = combination * S + shard); without a matrix,
// the S shards alone. Values are compared and shown as text.
//
// Decisions of this module, where a definition is still being typed (the server reports the
// problem; the box only needs a number): a `shards` that is not a whole number of 1 or more
// counts as absent; an axis whose values are not a list counts as no axis; an exclude key that
// names no axis matches nothing; a matrix with no axes has only its include entries.

import type { Job } from "../api/types";

export const MAX_INSTANCES = 10_000;
/** The product before `exclude` may not pass this (the server's MAX_COMBINATIONS): beyond it, excludes are not applied. */
export const MAX_COMBINATIONS = 10 * MAX_INSTANCES;

export interface Instance {
  index: number;
  /** The matrix's values (every axis, then an include entry's other keys); empty without a matrix. */
  values: Record<string, string>;
  shard: number | null;
  shardCount: number | null;
}

type Combination = Record<string, string>;

interface Shape {
  axes: [string, string[]][];
  include: Combination[];
  exclude: Combination[];
  shards: number | null;
  hasMatrix: boolean;
}

const RESERVED = new Set(["include", "exclude"]);

/** A scalar as the server keeps it: text. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const entries = (value: unknown): Combination[] =>
  Array.isArray(value)
    ? value.filter(isRecord).map((entry) => Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, valueText(v)])))
    : [];

function shapeOf(job: Job): Shape {
  const matrix = isRecord(job.matrix) ? job.matrix : undefined;
  const axes: [string, string[]][] = [];
  for (const [name, values] of Object.entries(matrix ?? {})) {
    if (!RESERVED.has(name) && Array.isArray(values)) axes.push([name, values.map(valueText)]);
  }
  const shards = typeof job.shards === "number" && Number.isInteger(job.shards) && job.shards >= 1 ? job.shards : null;
  return { axes, include: entries(matrix?.include), exclude: entries(matrix?.exclude), shards, hasMatrix: matrix !== undefined };
}

/** Whether the job runs as instances: it has a matrix or shards. */
export function isFanOut(job: Job): boolean {
  return job.matrix !== undefined || job.shards !== undefined;
}

function product(axes: [string, string[]][]): number {
  return axes.length === 0 ? 0 : axes.reduce((total, [, values]) => total * values.length, 1);
}

/** How many of the product's combinations the exclude entries take out: inclusion–exclusion over the entries. */
function excludedCount(axes: [string, string[]][], exclude: Combination[]): number {
  const axisNames = new Set(axes.map(([name]) => name));
  const usable = exclude.filter((entry) => Object.keys(entry).every((key) => axisNames.has(key)));
  const size = (fixed: Combination) =>
    axes.reduce((total, [name, values]) => {
      const wanted = fixed[name];
      return total * (wanted === undefined ? values.length : values.filter((value) => value === wanted).length);
    }, 1);
  let total = 0;
  // Each step adds one more entry to the intersection; an empty intersection stays empty, so it is not extended.
  const visit = (from: number, fixed: Combination, depth: number) => {
    for (let at = from; at < usable.length; at += 1) {
      const entry = usable[at] as Combination;
      if (Object.entries(entry).some(([key, value]) => fixed[key] !== undefined && fixed[key] !== value)) continue;
      const joined = { ...fixed, ...entry };
      const count = size(joined);
      if (count === 0) continue;
      total += depth % 2 === 0 ? count : -count;
      visit(at + 1, joined, depth + 1);
    }
  };
  visit(0, {}, 0);
  return total;
}

function combinationCount(shape: Shape): number {
  if (!shape.hasMatrix) return 0;
  const all = product(shape.axes);
  const applied = all > 0 && all <= MAX_COMBINATIONS;
  return all - (applied ? excludedCount(shape.axes, shape.exclude) : 0) + shape.include.length;
}

/** How many instances the job runs: 1 for a plain job. */
export function instanceCount(job: Job): number {
  if (!isFanOut(job)) return 1;
  const shape = shapeOf(job);
  const shards = shape.shards ?? 1;
  return shape.hasMatrix ? combinationCount(shape) * shards : shards;
}

/** "1,000" as the server writes counts. */
export const countText = (count: number) => count.toLocaleString("en-US");

/** The product's combination at a position (first axis slowest). */
function productAt(axes: [string, string[]][], position: number): Combination {
  const values: Combination = {};
  let rest = position;
  for (let axis = axes.length - 1; axis >= 0; axis -= 1) {
    const [name, list] = axes[axis] as [string, string[]];
    values[name] = list[rest % list.length] as string;
    rest = Math.floor(rest / list.length);
  }
  return Object.fromEntries(axes.map(([name]) => [name, values[name] as string]));
}

const matches = (combination: Combination, entry: Combination) =>
  Object.entries(entry).every(([key, value]) => combination[key] === value);

/**
 * The job's instances, computed from an index when asked: `length` and `at(i)`. Only the
 * positions the excludes keep are listed, and only when there are excludes.
 */
export function expand(job: Job): { length: number; at: (index: number) => Instance | undefined } {
  const shape = shapeOf(job);
  const length = instanceCount(job);
  const shards = shape.shards;
  const all = product(shape.axes);
  let kept: Int32Array | null = null;
  if (shape.hasMatrix && shape.exclude.length && all > 0 && all <= MAX_COMBINATIONS) {
    const positions: number[] = [];
    for (let position = 0; position < all; position += 1) {
      const combination = productAt(shape.axes, position);
      if (!shape.exclude.some((entry) => matches(combination, entry))) positions.push(position);
    }
    kept = Int32Array.from(positions);
  }
  const fromProduct = kept ? kept.length : all;
  const combinationAt = (combination: number): Combination => {
    if (combination < fromProduct) return productAt(shape.axes, kept ? (kept[combination] as number) : combination);
    const entry = shape.include[combination - fromProduct] ?? {};
    const values: Combination = Object.fromEntries(shape.axes.map(([name]) => [name, entry[name] ?? ""]));
    for (const [key, value] of Object.entries(entry)) if (!(key in values)) values[key] = value;
    return values;
  };
  const at = (index: number): Instance | undefined => {
    if (!Number.isInteger(index) || index < 0 || index >= length || !isFanOut(job)) return undefined;
    if (!shape.hasMatrix) return { index, values: {}, shard: index, shardCount: shards };
    const per = shards ?? 1;
    const values = combinationAt(Math.floor(index / per));
    return { index, values, shard: shards === null ? null : index % per, shardCount: shards };
  };
  return { length, at };
}

/**
 * How many failed instances the group allows: a count, or a percentage of the instances
 * rounded down, worked on the written digits as the server does ("33.3%" of 1,000 is 333).
 */
export function allowedFailures(value: unknown, instances: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  const percent = typeof value === "string" ? /^(\d+)(?:\.(\d+))?%$/.exec(value.trim()) : null;
  if (!percent) return 0;
  const fraction = percent[2] ?? "";
  const scale = 10n ** BigInt(fraction.length);
  const written = BigInt(percent[1] ?? "0") * scale + BigInt(fraction || "0");
  return Number((written * BigInt(instances)) / (100n * scale));
}
