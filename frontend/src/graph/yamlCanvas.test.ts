import { describe, expect, it } from "vitest";
import { emptyWorkflow } from "./edits";
import { ciWorkflow } from "./fixtures";
import { workflowToYaml } from "./yaml";
import { canvasFromYaml, describeYamlError } from "./yamlCanvas";

const TEXT = workflowToYaml(ciWorkflow());

describe("canvasFromYaml", () => {
  it("gives the canvas a workflow that reads and has its outline", () => {
    expect(canvasFromYaml(TEXT)).toEqual({ workflow: ciWorkflow() });
    expect(canvasFromYaml(workflowToYaml(emptyWorkflow("demo", "new")))).toEqual({ workflow: emptyWorkflow("demo", "new") });
  });

  it("keeps a text with a syntax error from the canvas, with its line", () => {
    const reading = canvasFromYaml(`${TEXT}  oops: [\n`);
    expect(reading).toMatchObject({ kind: "syntax" });
    expect("error" in reading && reading.line).toBeGreaterThan(TEXT.split("\n").length - 2);
  });

  it("keeps a mapping that is not a workflow from the canvas, saying what is missing where", () => {
    expect(canvasFromYaml("anything: goes\n")).toMatchObject({
      kind: "shape",
      line: 1,
      error: "metadata is missing: it must be a mapping of fields (namespace, name)",
    });
    const noStages = "metadata:\n  namespace: demo\n  name: w\nspec:\n  params: []\n";
    expect(canvasFromYaml(noStages)).toMatchObject({ line: 4, error: "spec.stages is missing: it must be a list of stages" });
    expect(canvasFromYaml("metadata: {}\nspec: 3\n")).toMatchObject({ line: 2, error: expect.stringMatching(/^spec must be a mapping/) });
  });

  it("names the stage, action or job that is not shaped as one, on its line", () => {
    const lines = TEXT.split("\n");
    const stageLine = lines.findIndex((line) => line.includes("- name: verify")) + 1;
    expect(canvasFromYaml(TEXT.replace("    - name: verify\n      sequencing: sequence\n", "    - verify\n    - name: verify\n      sequencing: sequence\n"))).toMatchObject({
      line: stageLine,
      error: "spec.stages[1] must be a stage (a mapping of fields)",
    });
    const actionsText = TEXT.replace("    - name: checkout\n      actions:\n", "    - name: checkout\n      actions: clone\n      steps:\n");
    expect(canvasFromYaml(actionsText)).toMatchObject({ line: 21, error: "spec.stages[0].actions must be a list of actions" });
    const noJobs = TEXT.replace(/ {10}jobs:\n {12}- name: notify\n {14}image: alpine:3\n {14}env:\n {16}URL: .*\n/, "");
    const reading = canvasFromYaml(noJobs);
    expect(reading).toMatchObject({ error: "spec.stages[2].actions[1].jobs is missing: it must be a list of jobs" });
    expect("error" in reading && noJobs.split("\n")[(reading.line ?? 0) - 1]).toContain("- name: notify");
  });

  it("accepts no params and triggers, and refuses ones that are not lists of mappings", () => {
    expect(canvasFromYaml(TEXT.replace(/ {2}params:\n {4}- name: branch\n {6}default: main\n/, "  params:\n"))).toHaveProperty("workflow");
    expect(canvasFromYaml(TEXT.replace("    - type: api\n", "    - api\n"))).toMatchObject({
      error: "spec.triggers[0] must be a trigger (a mapping of fields)",
    });
  });

  it("keeps a document that is not a mapping from the canvas", () => {
    expect(canvasFromYaml("- a\n- b\n")).toMatchObject({ kind: "shape", line: 1, error: "a definition must be a mapping of fields" });
  });
});

describe("describeYamlError", () => {
  it("says the line first when there is one", () => {
    expect(describeYamlError({ error: "spec must be a mapping", line: 4 })).toBe("line 4: spec must be a mapping");
    expect(describeYamlError({ error: "a definition must be a mapping of fields" })).toBe("a definition must be a mapping of fields");
  });
});
