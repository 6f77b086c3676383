import { describe, expect, it } from "vitest";
import { ciWorkflow, platformWorkflow } from "./fixtures";
import { workflowToYaml, yamlToWorkflow } from "./yaml";

describe("workflowToYaml and yamlToWorkflow", () => {
  it("survive a round trip of a realistic workflow", () => {
    expect(yamlToWorkflow(workflowToYaml(ciWorkflow()))).toEqual({ workflow: ciWorkflow() });
  });

  it("show the workflow's platform and a job's own, and read them back", () => {
    const text = workflowToYaml(platformWorkflow());
    expect(text).toMatch(/^ {2}platform: eks$/m);
    expect(text).toMatch(/^ {14}platform: fargate$/m);
    expect(text.match(/platform:/g)).toHaveLength(2);
    expect(yamlToWorkflow(text)).toEqual({ workflow: platformWorkflow() });
  });

  it("write no platform where none is given", () => {
    expect(workflowToYaml(ciWorkflow())).not.toContain("platform");
  });

  it("read a platform the server does not know as written", () => {
    const text = workflowToYaml(platformWorkflow()).replace("platform: eks", "platform: lambda");
    const parsed = yamlToWorkflow(text);
    expect("workflow" in parsed && parsed.workflow.spec.platform).toBe("lambda");
  });

  it("write the if key as if, and templates as plain text", () => {
    const text = workflowToYaml(ciWorkflow());
    expect(text).toMatch(/^\s+if: \$\{\{ jobs\.detect\.outputs\.CHANGED == 'true' \}\}$/m);
    expect(text).toContain("repo: ${{ jobs.clone.outputs.COMMIT }}");
  });

  it("quote text the server's YAML 1.1 loader would read as something else", () => {
    const workflow = ciWorkflow();
    const values = { a: "yes", b: "on", c: "1:30", d: "2024-01-01", e: "0755", f: "=", g: "<<", h: "Off", i: "1.0" };
    const job = workflow.spec.stages[0]?.actions[0]?.jobs[0];
    if (job) job.data = values;
    const text = workflowToYaml(workflow);
    for (const value of Object.values(values)) expect(text).toMatch(new RegExp(`: (!!str )?"${value.replace(/[.]/g, "\\.")}"$`, "m"));
    expect(yamlToWorkflow(text)).toEqual({ workflow });
  });

  it("read YAML 1.1 words the way the server does, and dates as the text written", () => {
    const parsed = yamlToWorkflow("metadata: {name: w}\nflag: yes\nwhen: 2024-01-01\nduration: 1:30\n");
    expect(parsed).toEqual({ workflow: { metadata: { name: "w" }, flag: true, when: "2024-01-01", duration: 90 } });
  });

  it("read JSON too", () => {
    expect(yamlToWorkflow(JSON.stringify(ciWorkflow()))).toEqual({ workflow: ciWorkflow() });
  });

  it("refuse a YAML syntax error, with its line", () => {
    expect(yamlToWorkflow("kind: Workflow\nspec:\n  stages: [\n    name: a\n")).toMatchObject({ line: 5 });
    const result = yamlToWorkflow("kind: Workflow\nmetadata:\n  name: 'w\n");
    expect(result).toMatchObject({ line: 4 });
    expect("error" in result && result.error).toMatch(/quote/i);
  });

  it("refuse a key given twice, with its line", () => {
    expect(yamlToWorkflow("kind: Workflow\nmetadata: {}\nkind: Component\n")).toEqual({
      error: "Map keys must be unique",
      line: 3,
    });
  });

  it("refuse a document that is not a mapping, with its line when there is one", () => {
    expect(yamlToWorkflow("# a list\n- a\n- b\n")).toEqual({ error: "a definition must be a mapping of fields", line: 2 });
    expect(yamlToWorkflow("just text")).toEqual({ error: "a definition must be a mapping of fields", line: 1 });
    expect(yamlToWorkflow("")).toEqual({ error: "a definition must be a mapping of fields" });
  });

  it("refuse more than one document", () => {
    expect(yamlToWorkflow("a: 1\n---\nb: 2\n")).toMatchObject({ line: 2 });
  });

  it("refuse a merge of something that is not a mapping, rather than throw", () => {
    expect(yamlToWorkflow("a:\n  <<: 1\n")).toHaveProperty("error");
  });

  it("leave the schema to the server", () => {
    expect(yamlToWorkflow("anything: goes\n")).toEqual({ workflow: { anything: "goes" } });
  });
});
