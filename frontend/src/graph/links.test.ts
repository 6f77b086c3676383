import { describe, expect, it } from "vitest";
import type { Job, WorkflowDefinition } from "../api/types";
import { ciWorkflow } from "./fixtures";
import { canLink, conflicts, connect, disconnect, parseLinks } from "./links";

function workflowOf(...stages: { sequencing?: "parallel" | "sequence"; actions: Job[][] }[]): WorkflowDefinition {
  return {
    metadata: { namespace: "demo", name: "w" },
    spec: {
      stages: stages.map((stage, s) => ({
        name: `s${s}`,
        ...(stage.sequencing ? { sequencing: stage.sequencing } : {}),
        actions: stage.actions.map((jobs, a) => ({ name: `a${a}`, jobs })),
      })),
    },
  };
}

const job = (name: string, data?: Record<string, string>, env?: Record<string, string>): Job => ({
  name,
  image: "alpine",
  ...(data ? { data } : {}),
  ...(env ? { env } : {}),
});

const jobNamed = (workflow: WorkflowDefinition, name: string) =>
  workflow.spec.stages.flatMap((stage) => stage.actions.flatMap((action) => action.jobs)).find((item) => item.name === name);

describe("parseLinks", () => {
  it("finds every job-output reference in data and env, including inside longer templates", () => {
    expect(parseLinks(ciWorkflow())).toEqual([
      { source: "clone", output: "COMMIT", target: "test", field: "data.repo" },
      { source: "lint", output: "ISSUES", target: "test", field: "env.ISSUES" },
      { source: "clone", output: "COMMIT", target: "package", field: "data.version" },
      { source: "package", output: "ARTIFACT", target: "deploy", field: "data.artifact" },
      { source: "package", output: "SHA256", target: "deploy", field: "data.sha256" },
      { source: "deploy", output: "URL", target: "notify", field: "env.URL" },
    ]);
  });

  it("reads references inside expressions and in the bracket form", () => {
    const workflow = workflowOf(
      { actions: [[job("a"), job("7up")]] },
      { actions: [[job("b", { x: "${{ jobs.a.outputs.X || 'none' }}", y: "${{ jobs['7up'].outputs.Y }}" })]] },
    );
    expect(parseLinks(workflow)).toEqual([
      { source: "a", output: "X", target: "b", field: "data.x" },
      { source: "7up", output: "Y", target: "b", field: "data.y" },
    ]);
  });

  it("ignores params, secrets, conditions, malformed references and templates that do not parse", () => {
    const workflow = workflowOf(
      { actions: [[job("a")]] },
      {
        actions: [
          [
            {
              ...job("b", { p: "${{ params.branch }}", deep: "${{ jobs.a.outputs.X.Y }}", broken: "${{ jobs.a.outputs.X " }),
              env: { S: "${{ secrets.token }}" },
              if: "${{ jobs.a.outputs.X == 'y' }}",
            },
          ],
        ],
      },
    );
    expect(parseLinks(workflow)).toEqual([]);
  });
});

describe("canLink", () => {
  const workflow = workflowOf(
    { actions: [[job("first")]] },
    { actions: [[job("a"), job("b")], [job("c")]] },
    { sequencing: "sequence", actions: [[job("d")], [job("e")]] },
  );

  it("accepts a job in an earlier stage", () => {
    expect(canLink(workflow, "first", "c")).toEqual({ ok: true });
  });

  it("accepts a job earlier in the same action", () => {
    expect(canLink(workflow, "a", "b")).toEqual({ ok: true });
  });

  it("accepts an earlier action of a stage that runs its actions in sequence", () => {
    expect(canLink(workflow, "d", "e")).toEqual({ ok: true });
  });

  it("refuses a job's own outputs, with the reason", () => {
    expect(canLink(workflow, "a", "a")).toEqual({ ok: false, reason: "job 'a' cannot use its own outputs" });
  });

  it("refuses a link to a job in an earlier stage, with the reason", () => {
    expect(canLink(workflow, "c", "first")).toEqual({
      ok: false,
      reason: "job 'c' has not finished when 'first' starts: it runs in a later stage",
    });
  });

  it("refuses a source that comes later in the same action, with the reason", () => {
    expect(canLink(workflow, "b", "a")).toEqual({
      ok: false,
      reason: "job 'b' has not finished when 'a' starts: it comes later in the same action",
    });
  });

  it("refuses a source that runs in parallel in the same stage, with the reason", () => {
    expect(canLink(workflow, "c", "a")).toEqual({
      ok: false,
      reason: "job 'c' has not finished when 'a' starts: it runs in parallel in the same stage",
    });
    expect(canLink(workflow, "a", "c")).toMatchObject({ ok: false });
  });

  it("refuses a later action of a sequenced stage with the server's own sentence", () => {
    expect(canLink(workflow, "e", "d")).toEqual({
      ok: false,
      reason: "job 'e' has not finished when 'd' starts: it runs in parallel in the same stage",
    });
  });

  it("refuses a job that does not exist", () => {
    expect(canLink(workflow, "ghost", "a")).toEqual({ ok: false, reason: "there is no job 'ghost'" });
    expect(canLink(workflow, "a", "ghost")).toEqual({ ok: false, reason: "there is no job 'ghost'" });
  });
});

describe("conflicts", () => {
  it("names every field fed by two or more job outputs", () => {
    const workflow = workflowOf(
      { actions: [[job("a"), job("b")]] },
      {
        actions: [
          [
            job(
              "c",
              { x: "${{ jobs.a.outputs.X }} ${{ jobs.b.outputs.Y }}", y: "${{ jobs.a.outputs.X }}-${{ jobs.a.outputs.X }}" },
              { E: "${{ jobs.a.outputs.X }}${{ jobs.b.outputs.X }}" },
            ),
          ],
        ],
      },
    );
    expect(conflicts(workflow)).toEqual(new Set(["c:data.x", "c:env.E"]));
  });

  it("finds none in a workflow whose fields each take one output", () => {
    expect(conflicts(ciWorkflow()).size).toBe(0);
  });
});

describe("connect", () => {
  const base = workflowOf({ actions: [[job("a"), job("b")]] }, { actions: [[job("c", { keep: "me" })]] });

  it("writes the reference into the data key, leaving the original document untouched", () => {
    const result = connect(base, { source: "a", output: "OUT", target: "c", field: "data.input" });
    expect("workflow" in result && jobNamed(result.workflow, "c")?.data).toEqual({
      keep: "me",
      input: "${{ jobs.a.outputs.OUT }}",
    });
    expect(jobNamed(base, "c")?.data).toEqual({ keep: "me" });
  });

  it("writes the reference into an env variable", () => {
    const result = connect(base, { source: "b", output: "TOKEN", target: "c", field: "env.TOKEN" });
    expect("workflow" in result && jobNamed(result.workflow, "c")?.env).toEqual({ TOKEN: "${{ jobs.b.outputs.TOKEN }}" });
  });

  it("replaces a plain value with the link", () => {
    const result = connect(base, { source: "a", output: "OUT", target: "c", field: "data.keep" });
    expect("workflow" in result && jobNamed(result.workflow, "c")?.data?.keep).toBe("${{ jobs.a.outputs.OUT }}");
  });

  it("keeps an existing link next to the new one so the conflict shows", () => {
    const once = connect(base, { source: "a", output: "X", target: "c", field: "data.in" });
    if (!("workflow" in once)) throw new Error(once.error);
    const twice = connect(once.workflow, { source: "b", output: "Y", target: "c", field: "data.in" });
    if (!("workflow" in twice)) throw new Error(twice.error);
    expect(jobNamed(twice.workflow, "c")?.data?.in).toBe("${{ jobs.a.outputs.X }} ${{ jobs.b.outputs.Y }}");
    expect(conflicts(twice.workflow)).toEqual(new Set(["c:data.in"]));
  });

  it("changes nothing when the link is already there", () => {
    const once = connect(base, { source: "a", output: "X", target: "c", field: "data.in" });
    if (!("workflow" in once)) throw new Error(once.error);
    const again = connect(once.workflow, { source: "a", output: "X", target: "c", field: "data.in" });
    expect("workflow" in again && again.workflow).toBe(once.workflow);
  });

  it("writes a job name the tokenizer would misread in the bracket form", () => {
    const workflow = workflowOf({ actions: [[job("7up")]] }, { actions: [[job("c")]] });
    const result = connect(workflow, { source: "7up", output: "X", target: "c", field: "data.x" });
    if (!("workflow" in result)) throw new Error(result.error);
    expect(jobNamed(result.workflow, "c")?.data?.x).toBe("${{ jobs['7up'].outputs.X }}");
    expect(parseLinks(result.workflow)).toEqual([{ source: "7up", output: "X", target: "c", field: "data.x" }]);
  });

  it("refuses a link the order forbids, with the reason", () => {
    expect(connect(base, { source: "c", output: "X", target: "a", field: "data.x" })).toEqual({
      error: "job 'c' has not finished when 'a' starts: it runs in a later stage",
    });
  });

  it("refuses a field that is neither data nor env", () => {
    expect(connect(base, { source: "a", output: "X", target: "c", field: "if" })).toEqual({
      error: "'if' cannot take a link: links feed data.<key> or env.<KEY>",
    });
  });
});

describe("disconnect", () => {
  const linked = workflowOf(
    { actions: [[job("a"), job("b")]] },
    {
      actions: [
        [
          job(
            "c",
            {
              only: "${{ jobs.a.outputs.X }}",
              both: "${{ jobs.a.outputs.X }} ${{ jobs.b.outputs.Y }}",
              text: "v${{ jobs.a.outputs.X }}-rc",
            },
            { E: "${{ jobs.b.outputs.Y }}" },
          ),
        ],
      ],
    },
  );

  it("removes the key when the reference was all it held", () => {
    const result = disconnect(linked, { source: "a", output: "X", target: "c", field: "data.only" });
    expect(jobNamed(result, "c")?.data).not.toHaveProperty("only");
  });

  it("removes exactly that reference from a conflicted field", () => {
    const first = disconnect(linked, { source: "a", output: "X", target: "c", field: "data.both" });
    expect(jobNamed(first, "c")?.data?.both).toBe("${{ jobs.b.outputs.Y }}");
    const second = disconnect(linked, { source: "b", output: "Y", target: "c", field: "data.both" });
    expect(jobNamed(second, "c")?.data?.both).toBe("${{ jobs.a.outputs.X }}");
  });

  it("keeps the text around a reference", () => {
    const result = disconnect(linked, { source: "a", output: "X", target: "c", field: "data.text" });
    expect(jobNamed(result, "c")?.data?.text).toBe("v-rc");
  });

  it("drops an env left empty", () => {
    const result = disconnect(linked, { source: "b", output: "Y", target: "c", field: "env.E" });
    expect(jobNamed(result, "c")).not.toHaveProperty("env");
  });

  it("changes nothing for a link that is not there", () => {
    expect(disconnect(linked, { source: "b", output: "Y", target: "c", field: "data.only" })).toBe(linked);
    expect(disconnect(linked, { source: "a", output: "X", target: "ghost", field: "data.only" })).toBe(linked);
  });

  it("undoes a connect", () => {
    const link = { source: "a", output: "Z", target: "c", field: "data.new" };
    const result = connect(linked, link);
    if (!("workflow" in result)) throw new Error(result.error);
    expect(disconnect(result.workflow, link)).toEqual(linked);
  });
});
