import { describe, expect, it } from "vitest";
import type { Job } from "../../api/types";
import { ALLOWED_FAILURES, AXIS_VALUES, MATRIX_ENTRY, MAX_PARALLEL, SHARDS, ruleProblem } from "../../ui/rules";
import {
  addAxis,
  addEntry,
  axesOf,
  entriesOf,
  parseEntry,
  parseValues,
  removeAxis,
  removeEntry,
  renameAxis,
  setAxisValues,
  setEntry,
  setFailFast,
  setFanOutField,
} from "./fanoutEdits";

const job = (fields: Partial<Job> = {}): Job => ({ name: "test", image: "busybox", ...fields });

describe("the fan-out section's edits", () => {
  it("reads comma-separated values, blanks between commas being none", () => {
    expect(parseValues("3.11, 3.12,, ")).toEqual(["3.11", "3.12"]);
  });

  it("adds axes in order, before include and exclude, and refuses a name taken", () => {
    const one = addAxis(job({ matrix: { python: ["3.11"], exclude: [{ python: "3.11" }] } }), "os", ["linux"]);
    expect(Object.keys(one?.matrix ?? {})).toEqual(["python", "os", "exclude"]);
    expect(one && addAxis(one, "os", ["mac"])).toBeUndefined();
    expect(addAxis(job(), "include", [])).toBeUndefined();
  });

  it("renames an axis where it stands, so the instance order does not move", () => {
    const renamed = renameAxis(job({ matrix: { a: ["1"], b: ["2"] } }), "a", "z");
    expect(Object.keys(renamed?.matrix ?? {})).toEqual(["z", "b"]);
    expect(renameAxis(job({ matrix: { a: ["1"], b: ["2"] } }), "a", "b")).toBeUndefined();
    expect(renameAxis(job({ matrix: { a: ["1"] } }), "a", " ")).toBeUndefined();
  });

  it("keeps values as text, and drops the matrix once it holds nothing", () => {
    const set = setAxisValues(job({ matrix: { v: [3.11] } }), "v", ["3.11", "3.12"]);
    expect(set.matrix).toEqual({ v: ["3.11", "3.12"] });
    expect(axesOf(job({ matrix: { v: [3.11, true] } }))).toEqual([{ name: "v", values: ["3.11", "true"] }]);
    expect(removeAxis(set, "v").matrix).toBeUndefined();
  });

  it("reads and writes include and exclude entries as axis=value pairs", () => {
    expect(parseEntry("python=3.13, os=linux, experimental")).toEqual({ python: "3.13", os: "linux", experimental: "" });
    const added = addEntry(job({ matrix: { python: ["3.11"] } }), "include", "python=3.13, os=linux");
    expect(entriesOf(added, "include")).toEqual(["python=3.13, os=linux"]);
    const changed = setEntry(added, "include", 0, "python=3.14");
    expect(changed.matrix?.include).toEqual([{ python: "3.14" }]);
    expect(removeEntry(changed, "include", 0).matrix).toEqual({ python: ["3.11"] });
  });

  it("types whole numbers as numbers, keeps other text for the server to judge, and drops an emptied field", () => {
    expect(setFanOutField(job(), "shards", "8").shards).toBe(8);
    expect(setFanOutField(job(), "allowed_failures", "10%").allowed_failures).toBe("10%");
    expect(setFanOutField(job(), "max_parallel", "x").max_parallel).toBe("x");
    expect("shards" in setFanOutField(job({ shards: 3 }), "shards", "")).toBe(false);
  });

  it("writes fail_fast only when it is turned off (it is on by default)", () => {
    expect(setFailFast(job(), false).fail_fast).toBe(false);
    expect("fail_fast" in setFailFast(job({ fail_fast: false }), true)).toBe(false);
  });
});

describe("the fan-out fields' rules, in words", () => {
  it("allow what the server allows", () => {
    expect(ruleProblem(SHARDS, "10000")).toBeUndefined();
    expect(ruleProblem(SHARDS, "10001")).toContain("from 1 to 10,000");
    expect(ruleProblem(SHARDS, "0")).toBeDefined();
    expect(ruleProblem(MAX_PARALLEL, "4")).toBeUndefined();
    expect(ruleProblem(MAX_PARALLEL, "0")).toContain("1 or more");
    expect(ruleProblem(ALLOWED_FAILURES, "5")).toBeUndefined();
    expect(ruleProblem(ALLOWED_FAILURES, "12.5%")).toBeUndefined();
    expect(ruleProblem(ALLOWED_FAILURES, "120%")).toContain("percentage");
    expect(ruleProblem(AXIS_VALUES, "3.11, 3.11")).toContain("each written once");
    expect(ruleProblem(MATRIX_ENTRY, "python=3.13, os=linux")).toBeUndefined();
    expect(ruleProblem(MATRIX_ENTRY, "python")).toContain("axis=value");
  });
});
