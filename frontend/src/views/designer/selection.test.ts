import { describe, expect, it } from "vitest";
import { deleteJob, renameJob } from "../../graph";
import { ciWorkflow } from "../../graph/fixtures";
import { followSelection } from "./selection";

describe("the selection, when undo or redo replaces the drawing", () => {
  it("stays on a job that is still there", () => {
    const before = ciWorkflow();
    expect(followSelection(before, deleteJob(before, "lint"), { kind: "job", name: "test" })).toEqual({ kind: "job", name: "test" });
  });

  it("follows a job whose rename is undone, or redone, by its place", () => {
    const renamed = renameJob(ciWorkflow(), "test", "unit-tests");
    expect(followSelection(renamed, ciWorkflow(), { kind: "job", name: "unit-tests" })).toEqual({ kind: "job", name: "test" });
    expect(followSelection(ciWorkflow(), renamed, { kind: "job", name: "test" })).toEqual({ kind: "job", name: "unit-tests" });
  });

  it("goes when the job is gone, and leaves links and nothing as they are", () => {
    const before = ciWorkflow();
    const after = deleteJob(before, "notify");
    expect(followSelection(before, after, { kind: "job", name: "notify" })).toBeNull();
    expect(followSelection(before, after, { kind: "link", id: "link:x" })).toEqual({ kind: "link", id: "link:x" });
    expect(followSelection(before, after, null)).toBeNull();
  });
});
