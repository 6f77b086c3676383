import { describe, expect, it } from "vitest";
import type { Job, WorkflowDefinition } from "../api/types";
import {
  addAction,
  addJob,
  addJobToNewAction,
  addStage,
  deleteJob,
  deleteStage,
  emptyWorkflow,
  jobNameFor,
  moveJob,
  moveJobToNewAction,
  moveStage,
  renameAction,
  renameJob,
  renameRefusal,
  renameStage,
  setSequencing,
  updateJob,
} from "./edits";
import { ciWorkflow } from "./fixtures";
import { parseLinks } from "./links";

const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

const stageNames = (workflow: WorkflowDefinition) => workflow.spec.stages.map((stage) => stage.name);
const layout = (workflow: WorkflowDefinition) =>
  workflow.spec.stages.map((stage) => stage.actions.map((action) => action.jobs.map((job) => job.name)));
const jobNamed = (workflow: WorkflowDefinition, name: string): Job | undefined =>
  workflow.spec.stages.flatMap((stage) => stage.actions.flatMap((action) => action.jobs)).find((job) => job.name === name);

const pytest = { ref: "demo/python-pytest@1.2.0", name: "python-pytest" };

describe("a new workflow", () => {
  it("starts with one empty stage named build", () => {
    expect(emptyWorkflow("demo", "ci")).toEqual({
      apiVersion: "containerops/v1",
      kind: "Workflow",
      metadata: { namespace: "demo", name: "ci" },
      spec: { stages: [{ name: "build", actions: [] }] },
    });
  });
});

describe("stage edits", () => {
  it("add a stage at the end with a free numbered slug, leaving the original untouched", () => {
    const original = ciWorkflow();
    const before = structuredClone(original);
    const next = addStage(original);
    expect(stageNames(next)).toEqual(["checkout", "verify", "release", "stage-4"]);
    expect(next.spec.stages[3]).toEqual({ name: "stage-4", actions: [] });
    expect(original).toEqual(before);
  });

  it("add a stage at an index, skipping a numbered name already taken", () => {
    const taken = renameStage(ciWorkflow(), 0, "stage-4");
    expect(stageNames(addStage(taken, 1))).toEqual(["stage-4", "stage-5", "verify", "release"]);
  });

  it("add a stage with a requested name, made a slug and kept unique", () => {
    const next = addStage(ciWorkflow(), 0, "Verify");
    expect(stageNames(next)).toEqual(["verify-2", "checkout", "verify", "release"]);
    expect(next.spec.stages.every((stage) => SLUG.test(stage.name))).toBe(true);
  });

  it("rename a stage", () => {
    expect(stageNames(renameStage(ciWorkflow(), 1, "check"))).toEqual(["checkout", "check", "release"]);
  });

  it("move a stage, keeping the others in order", () => {
    expect(stageNames(moveStage(ciWorkflow(), 2, 0))).toEqual(["release", "checkout", "verify"]);
    expect(stageNames(moveStage(ciWorkflow(), 0, 9))).toEqual(["verify", "release", "checkout"]);
  });

  it("delete a stage and its jobs, leaving references to them for validation to report", () => {
    const next = deleteStage(ciWorkflow(), 0);
    expect(stageNames(next)).toEqual(["verify", "release"]);
    expect(parseLinks(next).filter((link) => link.source === "clone")).toHaveLength(2);
  });

  it("set how a stage runs its actions", () => {
    expect(setSequencing(ciWorkflow(), 0, "sequence").spec.stages[0]?.sequencing).toBe("sequence");
    expect(setSequencing(ciWorkflow(), 1, "parallel").spec.stages[1]?.sequencing).toBe("parallel");
  });

  it("change nothing for a stage index that does not exist", () => {
    const original = ciWorkflow();
    expect(renameStage(original, 7, "x")).toBe(original);
    expect(deleteStage(original, -1)).toBe(original);
    expect(moveStage(original, 5, 0)).toBe(original);
    expect(setSequencing(original, 3, "sequence")).toBe(original);
  });
});

describe("action edits", () => {
  it("add an empty action with a free numbered slug", () => {
    const next = addAction(ciWorkflow(), 1);
    expect(next.spec.stages[1]?.actions.map((action) => action.name)).toEqual(["lint", "test", "action-3"]);
    expect(next.spec.stages[1]?.actions[2]?.jobs).toEqual([]);
  });

  it("rename an action", () => {
    expect(renameAction(ciWorkflow(), 2, 1, "announce").spec.stages[2]?.actions[1]?.name).toBe("announce");
  });
});

describe("job edits", () => {
  it("add a job named after its component", () => {
    const next = addJob(ciWorkflow(), 0, 0, pytest);
    expect(next.spec.stages[0]?.actions[0]?.jobs[2]).toEqual({ name: "python-pytest", component: pytest.ref });
  });

  it("number a job name that is taken", () => {
    const once = addJob(ciWorkflow(), 0, 0, pytest);
    const twice = addJob(once, 1, 0, pytest);
    expect(layout(twice)[1]?.[0]).toEqual(["lint", "python-pytest-2"]);
    expect(jobNameFor(twice, "python-pytest")).toBe("python-pytest-3");
    expect(jobNameFor(ciWorkflow(), "clone")).toBe("clone-2");
  });

  it("make a valid job name from any component name", () => {
    for (const name of ["my component!", "_private", "", "x".repeat(80), "Ünïcode tool"]) {
      expect(jobNameFor(ciWorkflow(), name)).toMatch(JOB_NAME);
    }
  });

  it("add a job in a new action named after it", () => {
    const next = addJobToNewAction(ciWorkflow(), 0, { ref: "demo/git-clone@1.0.0", name: "git_Clone" });
    expect(next.spec.stages[0]?.actions[1]).toEqual({
      name: "git-clone",
      jobs: [{ name: "git_Clone", component: "demo/git-clone@1.0.0" }],
    });
  });

  it("add the first job of a new workflow through a new action", () => {
    const next = addJobToNewAction(emptyWorkflow("demo", "w"), 0, pytest);
    expect(layout(next)).toEqual([[["python-pytest"]]]);
  });

  it("replace a job by name", () => {
    const changed: Job = { name: "lint", image: "alpine:3" };
    expect(jobNamed(updateJob(ciWorkflow(), "lint", changed), "lint")).toEqual(changed);
    const original = ciWorkflow();
    expect(updateJob(original, "ghost", changed)).toBe(original);
  });

  it("rename a job and rewrite every reference to it in data, env, if and mounts", () => {
    const next = renameJob(ciWorkflow(), "clone", "checkout");
    expect(jobNamed(next, "clone")).toBeUndefined();
    expect(jobNamed(next, "checkout")?.component).toBe("demo/git-clone@1.0.0");
    expect(jobNamed(next, "test")?.data?.repo).toBe("${{ jobs.checkout.outputs.COMMIT }}");
    expect(jobNamed(next, "package")?.data?.version).toBe("v${{ jobs.checkout.outputs.COMMIT }}-rc");
    expect(jobNamed(next, "deploy")?.mounts?.[0]?.source).toBe("/srv/${{ jobs.checkout.outputs.COMMIT }}");
    expect(parseLinks(next).filter((link) => link.source === "clone")).toEqual([]);

    const condition = renameJob(ciWorkflow(), "detect", "changes");
    expect(jobNamed(condition, "test")?.if).toBe("${{ jobs.changes.outputs.CHANGED == 'true' }}");
    expect(Object.keys(jobNamed(condition, "test") ?? {})).toEqual(Object.keys(jobNamed(ciWorkflow(), "test") ?? {}));
    const env = renameJob(ciWorkflow(), "lint", "flake8");
    expect(jobNamed(env, "test")?.env).toEqual({ ISSUES: "${{ jobs.flake8.outputs.ISSUES }}", TOKEN: "${{ secrets.token }}" });
  });

  it("refuse, while a name is typed, an empty name and one another job has", () => {
    const workflow = ciWorkflow();
    expect(renameRefusal(workflow, "clone", "checkout")).toBeUndefined();
    expect(renameRefusal(workflow, "clone", "clone")).toBeUndefined();
    expect(renameRefusal(workflow, "clone", "")).toBe("A job needs a name.");
    expect(renameRefusal(workflow, "clone", "  ")).toBe("A job needs a name.");
    expect(renameRefusal(workflow, "clone", "lint")).toBe("Another job is already called 'lint'.");
  });

  it("rename one keystroke at a time and end as one rename would", () => {
    const typed = ["c", "ch", "che", "checkout"].reduce(
      (state, name) => ({ workflow: renameJob(state.workflow, state.name, name), name }),
      { workflow: ciWorkflow(), name: "clone" },
    );
    expect(typed.workflow).toEqual(renameJob(ciWorkflow(), "clone", "checkout"));
  });

  it("rename references in a bare condition", () => {
    const workflow = updateJob(ciWorkflow(), "test", { name: "test", image: "alpine", if: "jobs.detect.outputs.CHANGED && !jobs.detectX.outputs.Y" });
    expect(jobNamed(renameJob(workflow, "detect", "changes"), "test")?.if).toBe("jobs.changes.outputs.CHANGED && !jobs.detectX.outputs.Y");
  });

  it("rename references in the bracket form, and to a name only the bracket form can hold", () => {
    const workflow = renameJob(ciWorkflow(), "clone", "1st");
    expect(jobNamed(workflow, "test")?.data?.repo).toBe("${{ jobs['1st'].outputs.COMMIT }}");
    const back = renameJob(workflow, "1st", "clone");
    expect(jobNamed(back, "test")?.data?.repo).toBe("${{ jobs.clone.outputs.COMMIT }}");
  });

  it("leave untouched the jobs that do not refer to the renamed one", () => {
    const original = ciWorkflow();
    const next = renameJob(original, "notify", "announce");
    expect(next.spec.stages[0]).toBe(original.spec.stages[0]);
    expect(jobNamed(next, "deploy")).toBe(jobNamed(original, "deploy"));
  });

  it("delete a job, and its action when left empty, keeping references to it", () => {
    const fewer = deleteJob(ciWorkflow(), "detect");
    expect(layout(fewer)[0]).toEqual([["clone"]]);
    const emptied = deleteJob(ciWorkflow(), "lint");
    expect(emptied.spec.stages[1]?.actions.map((action) => action.name)).toEqual(["test"]);
    expect(parseLinks(emptied).some((link) => link.source === "lint")).toBe(true);
  });

  it("keep a stage whose last job was deleted, for the next drop", () => {
    const next = deleteJob(deleteJob(ciWorkflow(), "clone"), "detect");
    expect(next.spec.stages[0]).toEqual({ name: "checkout", actions: [] });
  });

  it("move a job within its action", () => {
    expect(layout(moveJob(ciWorkflow(), "package", 2, 0, 1))[2]).toEqual([["deploy", "package"], ["notify"]]);
    expect(layout(moveJob(ciWorkflow(), "deploy", 2, 0, 0))[2]).toEqual([["deploy", "package"], ["notify"]]);
  });

  it("move a job to another action, removing the action it left empty", () => {
    const next = moveJob(ciWorkflow(), "notify", 2, 0, 1);
    expect(layout(next)[2]).toEqual([["package", "notify", "deploy"]]);
  });

  it("move a job to an action after the one it empties, found again by identity", () => {
    const withAction = addAction(ciWorkflow(), 1);
    const next = moveJob(withAction, "lint", 1, 2, 0);
    expect(layout(next)[1]).toEqual([["test"], ["lint"]]);
    expect(next.spec.stages[1]?.actions.map((action) => action.name)).toEqual(["test", "action-3"]);
  });

  it("move a job to another stage", () => {
    const next = moveJob(ciWorkflow(), "detect", 1, 1, 0);
    expect(layout(next)).toEqual([[["clone"]], [["lint"], ["detect", "test"]], [["package", "deploy"], ["notify"]]]);
  });

  it("move the only job of an action onto itself without losing it", () => {
    const original = ciWorkflow();
    expect(layout(moveJob(original, "lint", 1, 0, 0))).toEqual(layout(original));
  });

  it("move a job into a new action of a stage", () => {
    const next = moveJobToNewAction(ciWorkflow(), "clone", 2);
    expect(layout(next)).toEqual([[["detect"]], [["lint"], ["test"]], [["package", "deploy"], ["notify"], ["clone"]]]);
  });

  it("change nothing when the job or the place does not exist", () => {
    const original = ciWorkflow();
    expect(moveJob(original, "ghost", 0, 0, 0)).toBe(original);
    expect(moveJob(original, "clone", 0, 5, 0)).toBe(original);
    expect(deleteJob(original, "ghost")).toBe(original);
    expect(renameJob(original, "ghost", "x")).toBe(original);
    expect(addJob(original, 9, 0, pytest)).toBe(original);
    expect(moveJobToNewAction(original, "ghost", 0)).toBe(original);
  });
});
