import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../api/types";
import { addStage, deleteJob, renameJob, updateJob } from "./edits";
import { bigWorkflow, ciWorkflow, lookup, platformWorkflow } from "./fixtures";
import { graphToWorkflow } from "./fromGraph";
import { connect } from "./links";
import { absolutePositions } from "./geometry";
import type { GraphEdge, GraphNode, Port } from "./model";
import { workflowToGraph } from "./toGraph";

const jobNode = (nodes: GraphNode[], name: string) => {
  const node = nodes.find((item) => item.id === `job:${name}`);
  if (node?.kind !== "job") throw new Error(`no job node ${name}`);
  return node;
};

/** Pairs of nodes of those kinds whose boxes overlap, in absolute coordinates. */
function overlapping(nodes: GraphNode[], kinds: GraphNode["kind"][]): [string, string][] {
  const corners = absolutePositions(nodes);
  const boxes = nodes.filter((node) => kinds.includes(node.kind)).map((node) => ({ node, corner: corners.get(node.id) ?? { x: 0, y: 0 } }));
  const found: [string, string][] = [];
  boxes.forEach((a, i) =>
    boxes.slice(i + 1).forEach((b) => {
      const apart =
        a.corner.x + a.node.width <= b.corner.x ||
        b.corner.x + b.node.width <= a.corner.x ||
        a.corner.y + a.node.height <= b.corner.y ||
        b.corner.y + b.node.height <= a.corner.y;
      if (!apart) found.push([a.node.id, b.node.id]);
    }),
  );
  return found;
}

describe("workflowToGraph", () => {
  const { nodes, edges } = workflowToGraph(ciWorkflow(), lookup);

  it("makes a trigger, the stages, their actions and jobs, and an end, parents before children", () => {
    expect(nodes.map((node) => node.id)).toEqual([
      "trigger",
      "stage:0",
      "action:0.0",
      "job:clone",
      "job:detect",
      "stage:1",
      "action:1.0",
      "job:lint",
      "action:1.1",
      "job:test",
      "stage:2",
      "action:2.0",
      "job:package",
      "job:deploy",
      "action:2.1",
      "job:notify",
      "end",
    ]);
    const seen = new Set<string>();
    for (const node of nodes) {
      if (node.parentId) expect(seen.has(node.parentId)).toBe(true);
      seen.add(node.id);
    }
    expect(jobNode(nodes, "deploy").parentId).toBe("action:2.0");
    expect(nodes.find((node) => node.id === "action:2.0")?.parentId).toBe("stage:2");
  });

  it("gives stage, action and job nodes their data", () => {
    expect(nodes.find((node) => node.id === "stage:1")?.data).toEqual({
      index: 1,
      name: "verify",
      sequencing: "sequence",
      problems: [],
    });
    expect(nodes.find((node) => node.id === "action:2.1")?.data).toEqual({ stage: 2, index: 1, name: "notify", problems: [] });
    const deploy = jobNode(nodes, "deploy").data;
    expect(deploy).toMatchObject({ stage: 2, action: 0, index: 1, label: "deploy", component: "demo/deploy@1.0.0" });
    expect(deploy.job).toBe(ciWorkflow().spec.stages[2]?.actions[0]?.jobs[1] && deploy.job);
  });

  it("shows the trigger types, the server's default when none are written", () => {
    expect(nodes[0]?.data).toEqual({ triggers: [{ type: "api" }, { type: "schedule", cron: "0 3 * * *" }] });
    const bare = ciWorkflow();
    delete bare.spec.triggers;
    expect(workflowToGraph(bare, lookup).nodes[0]?.data).toEqual({ triggers: [{ type: "api" }] });
  });

  it("shows on each job the platform it runs on on AWS, the job's own over its workflow's", () => {
    const graph = workflowToGraph(platformWorkflow(), lookup);
    expect(jobNode(graph.nodes, "package").data.platform).toEqual({ name: "fargate", from: "job" });
    expect(jobNode(graph.nodes, "deploy").data.platform).toEqual({ name: "eks", from: "workflow" });
  });

  it("shows no platform on a job when neither it nor its workflow names one", () => {
    expect(jobNode(nodes, "deploy").data).not.toHaveProperty("platform");
  });

  it("shows a platform the server does not know as written, rather than fail", () => {
    const workflow = platformWorkflow();
    workflow.spec.platform = "lambda" as never;
    const graph = workflowToGraph(workflow, lookup);
    expect(jobNode(graph.nodes, "deploy").data.platform).toEqual({ name: "lambda", from: "workflow" });
  });

  it("gives a job the component's inputs, its data keys and its linked env variables as inputs", () => {
    const withoutValues = (ports: Port[]) => ports.map(({ value: _value, ...port }) => port);
    expect(withoutValues(jobNode(nodes, "clone").data.inputs)).toEqual([
      { name: "url", field: "data.url", linked: false, conflict: false, required: true },
      { name: "ref", field: "data.ref", linked: false, conflict: false, required: false },
    ]);
    expect(withoutValues(jobNode(nodes, "test").data.inputs)).toEqual([
      { name: "repo", field: "data.repo", linked: true, conflict: false, required: true },
      { name: "ref", field: "data.ref", linked: false, conflict: false, required: false },
      { name: "ISSUES", field: "env.ISSUES", linked: true, conflict: false, required: false },
    ]);
  });

  it("shows on each input what fills it: a value, a param, another job's output, or the default", () => {
    const shown = (job: string) =>
      Object.fromEntries(jobNode(nodes, job).data.inputs.map((port) => [port.name, port.value && `${port.value.kind}:${port.value.text}`]));
    expect(shown("clone")).toEqual({ url: "literal:/repo.git", ref: "param:params.branch" });
    expect(shown("test")).toEqual({ repo: "link:clone.COMMIT", ref: undefined, ISSUES: "link:lint.ISSUES" });
    expect(shown("package")).toMatchObject({ version: "link:v{clone.COMMIT}-rc" });
    const bare = workflowToGraph(updateJob(ciWorkflow(), "clone", { name: "clone", component: "demo/git-clone@1.0.0" }), lookup);
    expect(jobNode(bare.nodes, "clone").data.inputs.map((port) => port.value)).toEqual([
      undefined,
      { kind: "default", text: "main", written: "main" },
    ]);
  });

  it("gives a job the component's outputs and its own declared outputs", () => {
    expect(jobNode(nodes, "clone").data.outputs).toEqual([{ name: "COMMIT", linked: true }]);
    expect(jobNode(nodes, "detect").data.outputs).toEqual([{ name: "CHANGED", linked: false }]);
    expect(jobNode(nodes, "package").data.outputs).toEqual([
      { name: "ARTIFACT", linked: true },
      { name: "SHA256", linked: true },
    ]);
  });

  it("still gives a job of an unknown component a handle for every output a link takes", () => {
    const graph = workflowToGraph(ciWorkflow(), () => undefined);
    expect(jobNode(graph.nodes, "clone").data.outputs).toEqual([{ name: "COMMIT", linked: true }]);
    expect(jobNode(graph.nodes, "clone").data.inputs.map((port) => port.name)).toEqual(["url", "ref"]);
  });

  it("makes a job taller the more ports it has", () => {
    expect(jobNode(nodes, "test").height).toBeGreaterThan(jobNode(nodes, "clone").height);
    expect(jobNode(nodes, "clone").height).toBeGreaterThan(jobNode(nodes, "notify").height);
  });

  it("chains trigger, stages and end with flow edges", () => {
    expect(edges.filter((edge) => edge.kind === "flow").map((edge) => [edge.source, edge.target])).toEqual([
      ["trigger", "stage:0"],
      ["stage:0", "stage:1"],
      ["stage:1", "stage:2"],
      ["stage:2", "end"],
    ]);
  });

  it("draws each link from an output handle to an input handle", () => {
    const links = edges.filter((edge) => edge.kind === "link");
    expect(links).toHaveLength(6);
    expect(links).toContainEqual({
      id: "link:job:lint|out:ISSUES->job:test|in:env.ISSUES",
      kind: "link",
      source: "job:lint",
      target: "job:test",
      sourceHandle: "out:ISSUES",
      targetHandle: "in:env.ISSUES",
      data: { output: "ISSUES", field: "env.ISSUES", conflict: false },
    });
    expect(new Set(edges.map((edge) => edge.id)).size).toBe(edges.length);
  });

  it("flags a conflicted input and both links into it", () => {
    const result = connect(ciWorkflow(), { source: "detect", output: "CHANGED", target: "test", field: "data.repo" });
    if (!("workflow" in result)) throw new Error(result.error);
    const graph = workflowToGraph(result.workflow, lookup);
    expect(jobNode(graph.nodes, "test").data.inputs[0]).toMatchObject({ field: "data.repo", conflict: true, linked: true });
    const into = graph.edges.filter((edge) => edge.target === "job:test" && edge.data?.field === "data.repo");
    expect(into.map((edge) => edge.data?.conflict)).toEqual([true, true]);
  });

  it("draws no edge for a reference to a job that is gone", () => {
    const graph = workflowToGraph(deleteJob(ciWorkflow(), "lint"), lookup);
    expect(graph.edges.some((edge) => edge.source === "job:lint")).toBe(false);
    expect(jobNode(graph.nodes, "test").data.inputs.find((port) => port.field === "env.ISSUES")?.linked).toBe(false);
  });

  it("puts the problems on the nodes they belong to", () => {
    const graph = workflowToGraph(ciWorkflow(), lookup, [
      { path: "spec.stages[2].actions[0].jobs[1].data.artifact", message: "bad artifact" },
      { path: "spec.stages[1].name", message: "bad stage" },
      { path: "spec.stages[2].actions[1].name", message: "bad action" },
      { path: "metadata.name", message: "bad workflow" },
    ]);
    expect(jobNode(graph.nodes, "deploy").data.problems.map((problem) => problem.message)).toEqual(["bad artifact"]);
    expect(graph.nodes.find((node) => node.id === "stage:1")?.data).toMatchObject({ problems: [{ message: "bad stage" }] });
    expect(graph.nodes.find((node) => node.id === "action:2.1")?.data).toMatchObject({ problems: [{ message: "bad action" }] });
  });

  it("keeps node ids unique when a draft names two jobs alike", () => {
    const draft = renameJob(ciWorkflow(), "notify", "deploy");
    const ids = workflowToGraph(draft, lookup).nodes.map((node) => node.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("survives a hand-written draft with missing lists", () => {
    const draft = { metadata: { namespace: "demo", name: "w" }, spec: { stages: [{ name: "a" }, "junk"] } } as unknown as WorkflowDefinition;
    const graph = workflowToGraph(draft, lookup);
    expect(graph.nodes.map((node) => node.id)).toEqual(["trigger", "stage:0", "end"]);
    expect(workflowToGraph({ metadata: { namespace: "d", name: "w" } } as WorkflowDefinition, lookup).nodes).toHaveLength(2);
  });
});

describe("the layout", () => {
  const { nodes } = workflowToGraph(ciWorkflow(), lookup);
  const corners = absolutePositions(nodes);
  const x = (id: string) => corners.get(id)?.x ?? NaN;
  const y = (id: string) => corners.get(id)?.y ?? NaN;

  it("places stages as columns left to right between the trigger and the end", () => {
    const order = ["trigger", "stage:0", "stage:1", "stage:2", "end"];
    const lefts = order.map(x);
    expect([...lefts].sort((a, b) => a - b)).toEqual(lefts);
    const box = (id: string) => nodes.find((node) => node.id === id);
    for (const [left, right] of [["stage:0", "stage:1"], ["stage:1", "stage:2"]] as const) {
      expect(x(left) + (box(left)?.width ?? 0)).toBeLessThan(x(right));
    }
  });

  it("stacks actions, and the jobs of an action in order, top to bottom", () => {
    expect(y("action:1.0")).toBeLessThan(y("action:1.1"));
    expect(y("job:package")).toBeLessThan(y("job:deploy"));
    expect(y("job:deploy")).toBeLessThan(y("job:notify"));
    expect(x("job:package")).toBe(x("job:deploy"));
  });

  it("keeps every node inside its parent and no two siblings overlapping", () => {
    for (const node of nodes) {
      const parent = nodes.find((item) => item.id === node.parentId);
      if (!parent) continue;
      expect(node.position.x).toBeGreaterThanOrEqual(0);
      expect(node.position.y).toBeGreaterThanOrEqual(0);
      expect(node.position.x + node.width).toBeLessThanOrEqual(parent.width);
      expect(node.position.y + node.height).toBeLessThanOrEqual(parent.height);
    }
    expect(overlapping(nodes, ["job"])).toEqual([]);
    expect(overlapping(nodes, ["stage", "trigger", "end"])).toEqual([]);
  });

  it("lays out a 500-job workflow with no two jobs overlapping", () => {
    const workflow = bigWorkflow(10, 5, 10);
    const started = performance.now();
    const graph = workflowToGraph(workflow, lookup);
    const elapsed = performance.now() - started;
    console.log(`500 jobs: workflowToGraph (conversion + layout) took ${elapsed.toFixed(1)} ms`);
    expect(graph.nodes).toHaveLength(1 + 10 + 50 + 500 + 1);
    expect(graph.edges.filter((edge) => edge.kind === "link")).toHaveLength(450);
    expect(overlapping(graph.nodes, ["job"])).toEqual([]);
  });
});

describe("graphToWorkflow", () => {
  const roundTrip = (workflow: WorkflowDefinition) => {
    const { nodes, edges } = workflowToGraph(workflow, lookup);
    return graphToWorkflow(nodes, edges, workflow);
  };

  it("gives back the same document it was drawn from", () => {
    expect(roundTrip(ciWorkflow())).toStrictEqual(ciWorkflow());
  });

  it("gives back drafts too: an empty stage, a conflict, a reference to a missing job", () => {
    let draft = addStage(ciWorkflow());
    draft = deleteJob(draft, "lint");
    const result = connect(draft, { source: "detect", output: "CHANGED", target: "deploy", field: "data.artifact" });
    if (!("workflow" in result)) throw new Error(result.error);
    expect(roundTrip(result.workflow)).toStrictEqual(result.workflow);
  });

  it("gives back the workflow's platform and a job's own", () => {
    const back = roundTrip(platformWorkflow());
    expect(back).toStrictEqual(platformWorkflow());
    expect(back.spec.platform).toBe("eks");
    expect(back.spec.stages[2]?.actions[0]?.jobs.map((job) => job.platform)).toEqual(["fargate", undefined]);
  });

  it("writes no platform where none was given: no null, no empty text", () => {
    const text = JSON.stringify(roundTrip(ciWorkflow()));
    expect(text).not.toContain("platform");
  });

  it("gives back a platform the server does not know, for its check to report", () => {
    const workflow = platformWorkflow();
    workflow.spec.platform = "lambda" as never;
    const job = workflow.spec.stages[0]?.actions[0]?.jobs[0];
    if (job) job.platform = 7 as never;
    expect(roundTrip(workflow)).toStrictEqual(workflow);
  });

  it("gives back a 500-job workflow", () => {
    const big = bigWorkflow(10, 5, 10);
    expect(roundTrip(big)).toStrictEqual(big);
  });

  it("writes a link edge added to the graph as a reference", () => {
    const workflow = ciWorkflow();
    const { nodes, edges } = workflowToGraph(workflow, lookup);
    const added: GraphEdge = {
      id: "new",
      kind: "link",
      source: "job:detect",
      target: "job:package",
      sourceHandle: "out:CHANGED",
      targetHandle: "in:env.CHANGED",
    };
    const next = graphToWorkflow(nodes, [...edges, added], workflow);
    expect(next.spec.stages[2]?.actions[0]?.jobs[0]?.env).toEqual({ CHANGED: "${{ jobs.detect.outputs.CHANGED }}" });
  });

  it("removes the reference of a link edge taken out of the graph, keeping the text around it", () => {
    const workflow = ciWorkflow();
    const { nodes, edges } = workflowToGraph(workflow, lookup);
    const kept = edges.filter((edge) => !(edge.target === "job:package" && edge.data?.field === "data.version"));
    const next = graphToWorkflow(nodes, kept, workflow);
    expect(next.spec.stages[2]?.actions[0]?.jobs[0]?.data).toEqual({ path: "/workspace/src", version: "v-rc" });
  });

  it("follows the order and names the nodes hold", () => {
    const workflow = ciWorkflow();
    const { nodes, edges } = workflowToGraph(workflow, lookup);
    const reordered = nodes.map((node): GraphNode => {
      if (node.kind === "stage" && node.data.index === 0) return { ...node, data: { ...node.data, index: 5, name: "fetch" } };
      if (node.kind === "job" && node.data.job.name === "deploy") return { ...node, data: { ...node.data, index: -1 } };
      return node;
    });
    const next = graphToWorkflow(reordered, edges, workflow);
    expect(next.spec.stages.map((stage) => stage.name)).toEqual(["verify", "release", "fetch"]);
    expect(next.spec.stages[1]?.actions[0]?.jobs.map((job) => job.name)).toEqual(["deploy", "package"]);
    expect(next.metadata).toBe(workflow.metadata);
    expect(next.spec.params).toBe(workflow.spec.params);
  });
});
