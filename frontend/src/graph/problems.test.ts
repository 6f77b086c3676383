import { describe, expect, it } from "vitest";
import { renameJob } from "./edits";
import { ciWorkflow } from "./fixtures";
import { locateProblem, problemsByNode } from "./problems";

const at = (path: string) => locateProblem(ciWorkflow(), { path, message: "wrong" });

describe("locateProblem", () => {
  it("maps a job's path to its node by name, with the field inside it", () => {
    expect(at("spec.stages[2].actions[0].jobs[1].data.artifact")).toEqual({ nodeId: "job:deploy", field: "data.artifact" });
    expect(at("spec.stages[1].actions[1].jobs[0].env.ISSUES")).toEqual({ nodeId: "job:test", field: "env.ISSUES" });
    expect(at("spec.stages[1].actions[1].jobs[0].retries.limit")).toEqual({ nodeId: "job:test", field: "retries.limit" });
    expect(at("spec.stages[0].actions[0].jobs[0]")).toEqual({ nodeId: "job:clone" });
  });

  it("maps a stage's or an action's own path to its node", () => {
    expect(at("spec.stages[1].name")).toEqual({ nodeId: "stage:1", field: "name" });
    expect(at("spec.stages[1]")).toEqual({ nodeId: "stage:1" });
    expect(at("spec.stages[2].actions[1].name")).toEqual({ nodeId: "action:2.1", field: "name" });
    expect(at("spec.stages[2].actions[1].jobs")).toEqual({ nodeId: "action:2.1", field: "jobs" });
  });

  it("sends anything outside the stages to the workflow", () => {
    for (const path of ["metadata.name", "spec.params[0].name", "spec.triggers[1].cron", "spec.stages", "", "spec.env.CO_DATA"]) {
      expect(at(path)).toEqual({ nodeId: "workflow" });
    }
  });

  it("falls back to the nearest node that exists when an index is out of range", () => {
    expect(at("spec.stages[7].name")).toEqual({ nodeId: "workflow" });
    expect(at("spec.stages[0].actions[4].name")).toEqual({ nodeId: "stage:0", field: "actions[4].name" });
    expect(at("spec.stages[0].actions[0].jobs[9].name")).toEqual({ nodeId: "action:0.0", field: "jobs[9].name" });
  });

  it("tells apart two jobs a draft names alike", () => {
    const draft = renameJob(ciWorkflow(), "notify", "deploy");
    expect(locateProblem(draft, { path: "spec.stages[2].actions[0].jobs[1].name", message: "m" }).nodeId).toBe("job:deploy");
    expect(locateProblem(draft, { path: "spec.stages[2].actions[1].jobs[0].name", message: "m" }).nodeId).toBe(
      "job:deploy@2.1.0",
    );
  });
});

describe("problemsByNode", () => {
  it("groups the problems by node, in the order they came", () => {
    const problems = [
      { path: "spec.stages[0].actions[0].jobs[1].outputs[0]", message: "a" },
      { path: "metadata.namespace", message: "b" },
      { path: "spec.stages[0].actions[0].jobs[1].image", message: "c" },
      { path: "spec.stages[2].name", message: "d" },
    ];
    const byNode = problemsByNode(ciWorkflow(), problems);
    expect([...byNode.keys()]).toEqual(["job:detect", "workflow", "stage:2"]);
    expect(byNode.get("job:detect")?.map((problem) => problem.message)).toEqual(["a", "c"]);
  });

  it("is empty without problems", () => {
    expect(problemsByNode(ciWorkflow(), []).size).toBe(0);
  });
});
