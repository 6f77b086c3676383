import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { updateJob } from "./edits";
import { graphToWorkflow } from "./fromGraph";
import type { GraphNode } from "./model";
import { workflowToGraph } from "./toGraph";
import { workflowToYaml, yamlToWorkflow } from "./yaml";

const TEXT = `apiVersion: containerops/v1
kind: Workflow
metadata:
  namespace: demo
  name: sharded
spec:
  stages:
    - name: test
      actions:
        - name: run
          jobs:
            - name: test
              image: containerops/busybox:1
              shards: 4
              matrix:
                python: ["3.11", "3.12"]
                os: [linux]
                include: [{python: "3.13", os: linux, experimental: "yes"}]
                exclude: [{python: "3.11"}]
              max_parallel: 2
              fail_fast: false
              allowed_failures: 10%
            - name: sum
              image: containerops/busybox:1
`;

const parsed = () => {
  const read = yamlToWorkflow(TEXT);
  if (!("workflow" in read)) throw new Error(read.error);
  return read.workflow;
};

const jobNodes = (nodes: GraphNode[]) => nodes.filter((node): node is GraphNode<"job"> => node.kind === "job");

describe("a fan-out job on the canvas", () => {
  it("knows how many instances it runs, and a plain job has no count", () => {
    const [test, sum] = jobNodes(workflowToGraph(parsed(), () => undefined).nodes);
    expect(test?.data.instances).toBe(8); // (3.12/linux + the include) x 4 shards
    expect(sum?.data.instances).toBeUndefined();
    expect((test?.height ?? 0) > (sum?.height ?? 0)).toBe(true);
  });

  it("keeps every fan-out field through the canvas and back to YAML", () => {
    const workflow = parsed();
    const graph = workflowToGraph(workflow, () => undefined);
    const back = graphToWorkflow(graph.nodes, graph.edges, workflow);
    expect(back).toEqual(workflow);
    const again = yamlToWorkflow(workflowToYaml(back));
    expect(again).toEqual({ workflow });
  });

  it("keeps the fan-out fields when another field of the job is edited", () => {
    const workflow = parsed();
    const job = workflow.spec.stages[0]?.actions[0]?.jobs[0] as Job;
    const edited = updateJob(workflow, "test", { ...job, timeout: "5m" });
    const kept = edited.spec.stages[0]?.actions[0]?.jobs[0];
    expect(kept).toMatchObject({ shards: 4, max_parallel: 2, fail_fast: false, allowed_failures: "10%", matrix: job.matrix });
  });
});
