import { describe, expect, it } from "vitest";
import type { Job, WorkflowDefinition } from "../api/types";
import { ciWorkflow } from "./fixtures";
import { isPlatform, jobPlatform, platformLabel, platformNamed } from "./platform";

const onWorkflow = (platform: unknown): WorkflowDefinition => ({ ...ciWorkflow(), spec: { ...ciWorkflow().spec, platform: platform as never } });
const job = (platform?: unknown): Job => ({ name: "j", image: "alpine:3", ...(platform === undefined ? {} : { platform: platform as never }) });

describe("jobPlatform", () => {
  it("is the job's own platform when it names one, over the workflow's", () => {
    expect(jobPlatform(job("fargate"), onWorkflow("eks"))).toEqual({ name: "fargate", from: "job" });
  });

  it("is the workflow's platform when the job names none", () => {
    expect(jobPlatform(job(), onWorkflow("eks"))).toEqual({ name: "eks", from: "workflow" });
    expect(jobPlatform(job(null), onWorkflow("eks"))).toEqual({ name: "eks", from: "workflow" });
  });

  it("is nothing when neither names one: the deployment's default, which the designer cannot know", () => {
    expect(jobPlatform(job(), ciWorkflow())).toBeUndefined();
    expect(jobPlatform(job(""), onWorkflow(null))).toBeUndefined();
  });

  it("keeps a value the server does not know, as written", () => {
    expect(jobPlatform(job("lambda"), ciWorkflow())).toEqual({ name: "lambda", from: "job" });
    expect(jobPlatform(job(), onWorkflow(7))).toEqual({ name: "7", from: "workflow" });
  });

  it("survives a hand-written draft without a spec", () => {
    expect(jobPlatform(job(), { metadata: { namespace: "d", name: "w" } } as WorkflowDefinition)).toBeUndefined();
  });
});

describe("the platform names", () => {
  it("read absent, null and empty as none, and anything else as text", () => {
    expect([undefined, null, ""].map(platformNamed)).toEqual([undefined, undefined, undefined]);
    expect([
      platformNamed("eks"),
      platformNamed(true),
      platformNamed({ on: "eks" }),
    ]).toEqual(["eks", "true", '{"on":"eks"}']);
  });

  it("know fargate and eks only, and label them for people", () => {
    expect(["fargate", "eks", "EKS", "lambda"].map(isPlatform)).toEqual([true, true, false, false]);
    expect(["fargate", "eks", "lambda"].map(platformLabel)).toEqual(["Fargate", "EKS", "lambda"]);
  });
});
