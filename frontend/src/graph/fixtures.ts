// Test data shared by the graph module's tests.
import type { ComponentDefinition, Job, WorkflowDefinition } from "../api/types";
import type { ComponentLookup } from "./model";

function component(
  name: string,
  inputs: { name: string; required?: boolean; default?: string }[],
  outputs: string[],
): ComponentDefinition {
  return {
    apiVersion: "containerops/v1",
    kind: "Component",
    metadata: { namespace: "demo", name, version: "1.0.0" },
    spec: { image: `demo/${name}:1.0.0`, inputs, outputs: outputs.map((output) => ({ name: output })) },
  };
}

export const COMPONENTS: ComponentDefinition[] = [
  component("git-clone", [{ name: "url", required: true }, { name: "ref", required: true, default: "main" }], ["COMMIT"]),
  component("flake8-lint", [{ name: "path", required: true }], ["ISSUES"]),
  component("golang-test", [{ name: "repo", required: true }, { name: "ref" }], ["COVERAGE"]),
  component("package", [{ name: "path" }, { name: "version", required: true }], ["ARTIFACT", "SHA256"]),
  component("deploy", [{ name: "artifact", required: true }, { name: "sha256" }], ["URL"]),
];

export const lookup: ComponentLookup = (ref) =>
  COMPONENTS.find((entry) => `${entry.metadata.namespace}/${entry.metadata.name}@${entry.metadata.version}` === ref);

/** Three stages: a checkout, a verify stage in sequence, a release; links, `if`, retries, env. */
export function ciWorkflow(): WorkflowDefinition {
  return {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: "demo", name: "ci", description: "clone, verify, release" },
    spec: {
      params: [{ name: "branch", default: "main" }],
      env: { GOFLAGS: "-mod=mod" },
      timeout: "2h",
      concurrency: 1,
      triggers: [{ type: "api" }, { type: "schedule", cron: "0 3 * * *" }],
      stages: [
        {
          name: "checkout",
          actions: [
            {
              name: "clone",
              jobs: [
                { name: "clone", component: "demo/git-clone@1.0.0", data: { url: "/repo.git", ref: "${{ params.branch }}" } },
                { name: "detect", image: "alpine:3", command: ["sh", "-c", "echo '[COUT] CHANGED=true'"], outputs: ["CHANGED"] },
              ],
            },
          ],
        },
        {
          name: "verify",
          sequencing: "sequence",
          actions: [
            {
              name: "lint",
              jobs: [{ name: "lint", component: "demo/flake8-lint@1.0.0", data: { path: "/workspace/src" } }],
            },
            {
              name: "test",
              jobs: [
                {
                  name: "test",
                  component: "demo/golang-test@1.0.0",
                  data: { repo: "${{ jobs.clone.outputs.COMMIT }}" },
                  env: { ISSUES: "${{ jobs.lint.outputs.ISSUES }}", TOKEN: "${{ secrets.token }}" },
                  if: "${{ jobs.detect.outputs.CHANGED == 'true' }}",
                  retries: { limit: 2, backoff: "10s" },
                },
              ],
            },
          ],
        },
        {
          name: "release",
          actions: [
            {
              name: "ship",
              jobs: [
                {
                  name: "package",
                  component: "demo/package@1.0.0",
                  data: { path: "/workspace/src", version: "v${{ jobs.clone.outputs.COMMIT }}-rc" },
                  timeout: "10m",
                },
                {
                  name: "deploy",
                  component: "demo/deploy@1.0.0",
                  data: { artifact: "${{ jobs.package.outputs.ARTIFACT }}", sha256: "${{ jobs.package.outputs.SHA256 }}" },
                  continue_on_error: true,
                  mounts: [{ source: "/srv/${{ jobs.clone.outputs.COMMIT }}", target: "/srv" }],
                },
              ],
            },
            {
              name: "notify",
              jobs: [{ name: "notify", image: "alpine:3", env: { URL: "${{ jobs.deploy.outputs.URL }}" } }],
            },
          ],
        },
      ],
    },
  };
}

/** `stages` stages of `actions` actions of `jobs` jobs; each job after the first stage reads one before it. */
export function bigWorkflow(stages: number, actions: number, jobs: number): WorkflowDefinition {
  return {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: "demo", name: "big" },
    spec: {
      stages: Array.from({ length: stages }, (_, s) => ({
        name: `stage-${s}`,
        actions: Array.from({ length: actions }, (_, a) => ({
          name: `action-${a}`,
          jobs: Array.from({ length: jobs }, (_, j): Job => ({
            name: `job-${s}-${a}-${j}`,
            component: "demo/package@1.0.0",
            data:
              s === 0
                ? { path: `/src/${j}` }
                : { path: `/src/${j}`, version: `\${{ jobs.job-${s - 1}-${a}-${j}.outputs.ARTIFACT }}` },
            ...(j % 3 === 0 ? { outputs: ["EXTRA_A", "EXTRA_B", "EXTRA_C"] } : {}),
          })),
        })),
      })),
    },
  };
}

/** The CI workflow on EKS for every job, but for `package`, which names Fargate for itself. */
export function platformWorkflow(): WorkflowDefinition {
  const { stages, ...rest } = ciWorkflow().spec;
  const workflow: WorkflowDefinition = { ...ciWorkflow(), spec: { ...rest, platform: "eks", stages } };
  const packaging = workflow.spec.stages[2]?.actions[0]?.jobs[0];
  if (packaging) packaging.platform = "fargate";
  return workflow;
}
