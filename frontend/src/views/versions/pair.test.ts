import { describe, expect, it } from "vitest";
import type { WorkflowVersionEntry } from "../../api/types";
import { comparedPair } from "./pair";

const listed = (...numbers: number[]): WorkflowVersionEntry[] =>
  numbers.map((version, index) => ({ version, created_at: 1_700_000_000 + version, latest: index === 0 }));

describe("comparedPair", () => {
  it("compares the latest with the one before it when the address names none", () => {
    expect(comparedPair(listed(5, 4, 3, 2, 1))).toEqual([4, 5]);
  });

  it("compares the two the address names", () => {
    expect(comparedPair(listed(5, 4, 3, 2, 1), 2, 4)).toEqual([2, 4]);
  });

  it("compares a named newer version with the one stored before it", () => {
    expect(comparedPair(listed(5, 4, 3, 2, 1), undefined, 3)).toEqual([2, 3]);
  });

  it("skips numbers that are not stored when finding the one before", () => {
    expect(comparedPair(listed(7, 3, 1), undefined, 7)).toEqual([3, 7]);
  });

  it("falls back to the defaults for versions that do not exist", () => {
    expect(comparedPair(listed(3, 2, 1), 9, 8)).toEqual([2, 3]);
  });

  it("compares a single version with itself, and nothing when there is none", () => {
    expect(comparedPair(listed(1))).toEqual([1, 1]);
    expect(comparedPair([])).toBeNull();
  });
});
