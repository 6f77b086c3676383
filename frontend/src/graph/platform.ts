import type { Job, Platform, WorkflowDefinition } from "../api/types";

// Where a job runs on AWS, as the designer shows it. The rule is the server's
// (`chalicelib/domain/platforms.py`, `chosen_platform`): the job's platform, else its
// workflow's, else the deployment's default, which the designer cannot know. A value the
// server does not know is shown as written and kept: the server's check reports it, and
// the designer neither drops nor "corrects" what the user wrote.

export const PLATFORMS: readonly { value: Platform; label: string }[] = [
  { value: "fargate", label: "Fargate" },
  { value: "eks", label: "EKS" },
];

/** Whose choice the platform shown on a job is. */
export interface PlatformShown {
  name: string; // as written, known or not
  from: "job" | "workflow";
}

/** The platform a definition names, as text; undefined when it names none (absent, null or ""). */
export function platformNamed(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

export const isPlatform = (name: string): name is Platform => PLATFORMS.some((platform) => platform.value === name);

/** "Fargate", "EKS", or an unknown name as written. */
export const platformLabel = (name: string): string => PLATFORMS.find((platform) => platform.value === name)?.label ?? name;

/** The platform a job runs on on AWS and whose choice it is; undefined: the deployment's default. */
export function jobPlatform(job: Job, workflow: WorkflowDefinition): PlatformShown | undefined {
  const own = platformNamed(job.platform);
  if (own !== undefined) return { name: own, from: "job" };
  const inherited = platformNamed(workflow.spec?.platform);
  return inherited === undefined ? undefined : { name: inherited, from: "workflow" };
}
