import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { MAX_COMBINATIONS, MAX_INSTANCES, allowedFailures, expand, instanceCount, isFanOut } from "./fanout";

const job = (fields: Partial<Job>): Job => ({ name: "test", image: "busybox", ...fields });

// The same examples as the server's tests of chalicelib/domain/fanout.py.
const COUNTS: [string, Partial<Job>, number][] = [
  ["a plain job is one instance", {}, 1],
  ["shards alone are that many instances", { shards: 8 }, 8],
  ["one axis gives one instance per value", { matrix: { python: ["3.11", "3.12", "3.13"] } }, 3],
  ["two axes give their product", { matrix: { python: ["3.11", "3.12"], os: ["linux", "mac"] } }, 4],
  ["an exclude entry takes out what it matches", { matrix: { python: ["3.11", "3.12"], os: ["linux", "mac"], exclude: [{ python: "3.11" }] } }, 2],
  [
    "overlapping exclude entries take out a combination once",
    { matrix: { a: ["1", "2"], b: ["x", "y"], exclude: [{ a: "1" }, { b: "x" }, { a: "1", b: "x" }] } },
    1,
  ],
  ["an include entry adds one combination", { matrix: { python: ["3.11"], include: [{ python: "3.13", experimental: "yes" }] } }, 2],
  ["a matrix of only include entries has those", { matrix: { include: [{ python: "3.13" }, { python: "3.14" }] } }, 2],
  ["shards split every combination", { matrix: { python: ["3.11", "3.12"] }, shards: 3 }, 6],
  ["numbers and text compare as text", { matrix: { v: [1, 2], exclude: [{ v: "1" }] } }, 1],
  ["an exclude key that is no axis matches nothing", { matrix: { v: ["1", "2"], exclude: [{ w: "1" }] } }, 2],
  ["an axis with no values gives nothing", { matrix: { v: [] } }, 0],
  ["100 x 101 is over the limit", { matrix: { a: range(100), b: range(101) } }, 10_100],
];

function range(count: number): string[] {
  return Array.from({ length: count }, (_, index) => String(index));
}

describe("fan-out instances", () => {
  it.each(COUNTS)("%s", (_name, fields, count) => {
    expect(instanceCount(job(fields))).toBe(count);
    expect(expand(job(fields)).length).toBe(count);
  });

  it("a job fans out with a matrix or shards, and only then", () => {
    expect(isFanOut(job({}))).toBe(false);
    expect(isFanOut(job({ shards: 2 }))).toBe(true);
    expect(isFanOut(job({ matrix: { a: ["1"] } }))).toBe(true);
  });

  it("numbers its instances first axis slowest, then excludes out, then includes", () => {
    const fanned = expand(
      job({
        matrix: {
          python: ["3.11", "3.12"],
          os: ["linux", "mac"],
          exclude: [{ python: "3.11", os: "mac" }],
          include: [{ python: "3.13", experimental: "yes" }],
        },
      }),
    );
    const values = Array.from({ length: fanned.length }, (_, index) => fanned.at(index)?.values);
    expect(values).toEqual([
      { python: "3.11", os: "linux" },
      { python: "3.12", os: "linux" },
      { python: "3.12", os: "mac" },
      { python: "3.13", os: "", experimental: "yes" },
    ]);
  });

  it("gives each combination's shards consecutive indices", () => {
    const fanned = expand(job({ matrix: { python: ["3.11", "3.12"] }, shards: 2 }));
    expect(fanned.at(3)).toEqual({ index: 3, values: { python: "3.12" }, shard: 1, shardCount: 2 });
    expect(fanned.at(4)).toBeUndefined();
  });

  it("numbers shards alone from 0", () => {
    expect(expand(job({ shards: 3 })).at(2)).toEqual({ index: 2, values: {}, shard: 2, shardCount: 3 });
  });

  it("counts 10,000 shards without listing them", () => {
    const started = performance.now();
    const fanned = expand(job({ matrix: { a: range(100), b: range(100), exclude: [{ a: "0" }] } }));
    expect(fanned.length).toBe(9_900);
    expect(fanned.at(0)?.values).toEqual({ a: "1", b: "0" });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("takes allowed failures as a count or a percentage of the instances rounded down", () => {
    expect(allowedFailures(2, 100)).toBe(2);
    expect(allowedFailures("10%", 1_005)).toBe(100);
    expect(allowedFailures(undefined, 100)).toBe(0);
  });
});

// tests/domain/test_fanout.py, case for case: the box's "× N" and the server agree.
describe("the server's fan-out examples", () => {
  const valuesOf = (fields: Partial<Job>) => {
    const fanned = expand(job(fields));
    return Array.from({ length: fanned.length }, (_, index) => fanned.at(index)?.values);
  };
  const numbers = (count: number) => Array.from({ length: count }, (_, index) => String(index));

  it("a plain job does not fan out and counts as one instance", () => {
    expect(isFanOut(job({}))).toBe(false);
    expect(instanceCount(job({}))).toBe(1);
  });

  it("the product runs the first axis slowest and the last fastest", () => {
    const fields = { matrix: { python: ["3.11", "3.12"], os: ["linux", "mac"] } };
    expect(valuesOf(fields)).toEqual([
      { python: "3.11", os: "linux" },
      { python: "3.11", os: "mac" },
      { python: "3.12", os: "linux" },
      { python: "3.12", os: "mac" },
    ]);
    expect(instanceCount(job(fields))).toBe(4);
  });

  it("values are kept as text", () => {
    expect(valuesOf({ matrix: { n: [1, 2.5, true] } })).toEqual([{ n: "1" }, { n: "2.5" }, { n: "true" }]);
  });

  it("exclude drops every combination a partial entry matches", () => {
    const matrix = { python: ["3.11", "3.12"], os: ["linux", "mac"], exclude: [{ python: "3.11" }, { os: "mac", python: "3.12" }] };
    expect(valuesOf({ matrix })).toEqual([{ python: "3.12", os: "linux" }]);
    expect(instanceCount(job({ matrix }))).toBe(1);
  });

  it("include entries come after the product, with missing axes empty and their own keys kept", () => {
    const matrix = { python: ["3.12"], os: ["linux"], include: [{ python: "3.13", experimental: "yes" }] };
    expect(valuesOf({ matrix })).toEqual([
      { python: "3.12", os: "linux" },
      { python: "3.13", os: "", experimental: "yes" },
    ]);
  });

  it("a matrix of includes only has one instance per entry", () => {
    expect(valuesOf({ matrix: { include: [{ a: "1" }, { a: "2" }] } })).toEqual([{ a: "1" }, { a: "2" }]);
  });

  it("shards alone number the instances by shard", () => {
    const fanned = expand(job({ shards: 3 }));
    expect([0, 1, 2].map((index) => fanned.at(index))).toEqual([0, 1, 2].map((index) => ({ index, values: {}, shard: index, shardCount: 3 })));
  });

  it("with a matrix each combination is split into its shards", () => {
    const fanned = expand(job({ matrix: { os: ["linux", "mac"] }, shards: 2 }));
    expect([0, 1, 2, 3].map((index) => fanned.at(index)).map((i) => [i?.index, i?.values.os, i?.shard, i?.shardCount])).toEqual([
      [0, "linux", 0, 2],
      [1, "linux", 1, 2],
      [2, "mac", 0, 2],
      [3, "mac", 1, 2],
    ]);
    expect(fanned.length).toBe(4);
  });

  it("an instance is computed from its index, and out-of-range indexes give none", () => {
    const fanned = expand(job({ matrix: { a: ["x", "y", "z"] }, shards: 2 }));
    expect(fanned.at(5)).toEqual({ index: 5, values: { a: "z" }, shard: 1, shardCount: 2 });
    expect(fanned.at(6)).toBeUndefined();
  });

  it("ten thousand instances, the last computed from its index", () => {
    const fanned = expand(job({ matrix: { a: numbers(100), b: numbers(10) }, shards: 10 }));
    expect(fanned.length).toBe(MAX_INSTANCES);
    expect(fanned.at(9_999)).toEqual({ index: 9_999, values: { a: "99", b: "9" }, shard: 9, shardCount: 10 });
  });

  it("ten thousand instances with an exclude", () => {
    expect(instanceCount(job({ matrix: { a: numbers(101), b: numbers(100), exclude: [{ a: "100" }] } }))).toBe(MAX_INSTANCES);
  });

  it("a product over the combinations' limit is counted without its excludes, as the server does", () => {
    const matrix = { a: numbers(1_000), b: numbers(101), exclude: [{ a: "0" }] };
    expect(instanceCount(job({ matrix }))).toBe(101_000);
    expect(101_000).toBeGreaterThan(MAX_COMBINATIONS);
  });

  it.each([
    [undefined, 10, 0],
    [3, 10, 3],
    ["10%", 1_000, 100],
    ["10%", 15, 1],
    ["33.3%", 1_000, 333],
    ["0%", 5, 0],
    ["100%", 7, 7],
  ] as const)("allowed failures %s of %i instances are %i", (allowed, count, expected) => {
    expect(allowedFailures(allowed, count)).toBe(expected);
  });
});
