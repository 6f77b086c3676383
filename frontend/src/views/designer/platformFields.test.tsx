import { isValidElement, type ReactElement, type ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Job, Problem, WorkflowDefinition } from "../../api/types";
import { ciWorkflow, platformWorkflow } from "../../graph/fixtures";
import { PlatformField } from "./fields";
import { JobPanel } from "./JobPanel";
import type { Catalog } from "./useCatalog";
import { WorkflowPanel } from "./WorkflowPanel";

// The panels render on the server here (the tests run without a DOM); a choice in the select
// is made by calling the change handler the panel gives its PlatformField.

const catalog: Catalog = { entries: [], latest: [], lookup: () => undefined, versionsOf: () => [] };
const NO_CHANGE = () => undefined;

type FieldProps = Parameters<typeof PlatformField>[0];

/** The props of the one PlatformField in the tree a panel returns. */
function platformFieldOf(tree: ReactNode): FieldProps {
  const found: ReactElement<FieldProps>[] = [];
  const visit = (node: ReactNode) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isValidElement<{ children?: ReactNode }>(node)) {
      if (node.type === PlatformField) found.push(node as ReactElement<FieldProps>);
      visit(node.props.children);
    }
  };
  visit(tree);
  expect(found).toHaveLength(1);
  return (found[0] as ReactElement<FieldProps>).props;
}

const ENTITIES: Record<string, string> = { "&#x27;": "'", "&quot;": '"', "&lt;": "<", "&gt;": ">", "&amp;": "&" };
const unescaped = (html: string) => html.replace(/&#x27;|&quot;|&lt;|&gt;|&amp;/g, (entity) => ENTITIES[entity] ?? entity);

/** The select's options as "value=label", the selected one marked with a star. */
function options(markup: string, testId: string): string[] {
  const select = new RegExp(`<select[^>]*data-testid="${testId}"[^>]*>(.*?)</select>`).exec(markup)?.[1] ?? "";
  return [...select.matchAll(/<option value="([^"]*)"( selected="")?>([^<]*)<\/option>/g)].map(
    ([, value, selected, label]) => `${selected ? "*" : ""}${unescaped(value ?? "")}=${unescaped(label ?? "")}`,
  );
}

const deployJob = (workflow: WorkflowDefinition): Job => {
  const job = workflow.spec.stages[2]?.actions[0]?.jobs[1];
  if (!job) throw new Error("no deploy job");
  return job;
};

function jobPanel(job: Job, workflow: WorkflowDefinition, problems: { field?: string; message: string }[] = []) {
  const changed: Job[] = [];
  const props = {
    job,
    links: [],
    problems,
    catalog,
    workflowPlatform: workflow.spec.platform,
    onChange: (next: Job) => changed.push(next),
    onRename: NO_CHANGE,
    onUnlink: NO_CHANGE,
    onDelete: NO_CHANGE,
  };
  return { markup: renderToStaticMarkup(<JobPanel {...props} />), field: platformFieldOf(JobPanel(props)), changed };
}

function workflowPanel(workflow: WorkflowDefinition, problems: Problem[] = []) {
  const changed: WorkflowDefinition[] = [];
  const props = { workflow, problems, checkedClean: false, onChange: (next: WorkflowDefinition) => changed.push(next) };
  return { markup: renderToStaticMarkup(<WorkflowPanel {...props} />), field: platformFieldOf(WorkflowPanel(props)), changed };
}

describe("the job panel's platform", () => {
  it("offers the workflow's default, Fargate and EKS, with a hint that it only matters on AWS", () => {
    const { markup } = jobPanel(deployJob(ciWorkflow()), ciWorkflow());
    expect(markup).toContain("Platform (on AWS)");
    expect(options(markup, "job-platform")).toEqual(["*=Workflow's default", "fargate=Fargate", "eks=EKS"]);
    expect(markup).toContain("Only matters on AWS: locally every job runs on Docker.");
  });

  it("selects the job's own platform, and names the workflow's as the default it would take", () => {
    const workflow = platformWorkflow();
    const packaging = workflow.spec.stages[2]?.actions[0]?.jobs[0] as Job;
    expect(options(jobPanel(packaging, workflow).markup, "job-platform")).toEqual([
      "=Workflow's default (EKS)",
      "*fargate=Fargate",
      "eks=EKS",
    ]);
  });

  it("writes the platform chosen, and drops the key for the workflow's default", () => {
    const workflow = platformWorkflow();
    const packaging = workflow.spec.stages[2]?.actions[0]?.jobs[0] as Job;
    const { field, changed } = jobPanel(packaging, workflow);
    field.onChange("eks");
    field.onChange("");
    expect(changed[0]?.platform).toBe("eks");
    const unset = { ...packaging };
    delete unset.platform;
    expect(changed[1]).toStrictEqual(unset);
  });

  it("keeps and shows a platform the server does not know, with the server's problem under it", () => {
    const job = { ...deployJob(ciWorkflow()), platform: "lambda" as never };
    const message = "'lambda' is not a platform: write fargate or eks";
    const { markup } = jobPanel(job, ciWorkflow(), [{ field: "platform", message }]);
    expect(options(markup, "job-platform")).toEqual([
      "=Workflow's default",
      "fargate=Fargate",
      "eks=EKS",
      "*lambda=lambda (not a platform)",
    ]);
    const shown = unescaped(markup);
    expect(shown.split(message)).toHaveLength(2); // under the field only, not again at the top
    expect(shown).toMatch(/Only matters on AWS[^<]*<\/span><span class="field-error"[^>]*>'lambda' is not a platform/);
  });
});

describe("the workflow panel's platform", () => {
  it("offers the deployment's default, Fargate and EKS, the default selected when unset", () => {
    const { markup } = workflowPanel(ciWorkflow());
    expect(options(markup, "workflow-platform")).toEqual(["*=Deployment default", "fargate=Fargate", "eks=EKS"]);
    expect(markup).toContain("Only matters on AWS");
  });

  it("selects the workflow's platform", () => {
    expect(options(workflowPanel(platformWorkflow()).markup, "workflow-platform")).toEqual([
      "=Deployment default",
      "fargate=Fargate",
      "*eks=EKS",
    ]);
  });

  it("writes spec.platform when chosen, and nothing at all for the deployment's default", () => {
    const workflow = { ...ciWorkflow(), spec: { ...ciWorkflow().spec, platform: "eks" as const } };
    const { field, changed } = workflowPanel(workflow);
    field.onChange("fargate");
    field.onChange("");
    expect(changed[0]?.spec.platform).toBe("fargate");
    expect(changed[1]).toStrictEqual(ciWorkflow());
    expect(JSON.stringify(changed[1])).not.toContain("platform");
  });

  it("keeps and shows a platform the server does not know, with the server's problem under it", () => {
    const workflow = { ...ciWorkflow(), spec: { ...ciWorkflow().spec, platform: "lambda" as never } };
    const { markup } = workflowPanel(workflow, [{ path: "spec.platform", message: "'lambda' is not a platform" }]);
    expect(options(markup, "workflow-platform")).toContain("*lambda=lambda (not a platform)");
    expect(markup).toMatch(/lambda \(not a platform\)<\/option><\/select><span class="field-hint">[^<]*<\/span><span class="field-error"/);
  });
});
