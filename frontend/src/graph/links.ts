import type { Job, WorkflowDefinition } from "../api/types";
import { jobOutputExpression, templateBlocks, type Reference } from "./expressions";
import { findJob, jobName, jobPlaces, replaceJobAt, type JobPlace } from "./places";

/** A data link: `${{ jobs.<source>.outputs.<output> }}` written in the target's `field`. */
export interface Link {
  source: string;
  output: string;
  target: string;
  field: string; // "data.<key>" or "env.<KEY>"
}

export type LinkCheck = { ok: true } | { ok: false; reason: string };

type Section = "data" | "env";

function parseField(field: string): { section: Section; key: string } | undefined {
  const match = /^(data|env)\.(.+)$/s.exec(field);
  return match ? { section: match[1] as Section, key: match[2] ?? "" } : undefined;
}

function jobOutput(reference: Reference): { source: string; output: string } | undefined {
  const [root, job, outputs, key] = reference.parts.map((part) => part.value);
  if (reference.parts.length !== 4 || root !== "jobs" || outputs !== "outputs") return undefined;
  return job === undefined || key === undefined ? undefined : { source: job, output: key };
}

function outputsReferenced(value: unknown): { source: string; output: string }[] {
  if (typeof value !== "string") return [];
  const found = (templateBlocks(value) ?? []).flatMap((block) => block.references.map(jobOutput));
  const unique = new Map<string, { source: string; output: string }>();
  for (const item of found) if (item) unique.set(`${item.source}\u0000${item.output}`, item);
  return [...unique.values()];
}

/** The links written in one job's data and env, in the order they appear. */
export function jobLinks(job: Job): Link[] {
  const target = jobName(job);
  const links: Link[] = [];
  for (const section of ["data", "env"] as const) {
    const values: unknown = job[section];
    if (typeof values !== "object" || values === null) continue;
    for (const [key, value] of Object.entries(values)) {
      for (const { source, output } of outputsReferenced(value)) {
        links.push({ source, output, target, field: `${section}.${key}` });
      }
    }
  }
  return links;
}

export function parseLinks(workflow: WorkflowDefinition): Link[] {
  return jobPlaces(workflow).flatMap((place) => jobLinks(place.job));
}

export const conflictKey = (job: string, field: string) => `${job}:${field}`;

/** `<job>:<field>` of every field fed by two or more job outputs. */
export function conflictsAmong(links: Link[]): Set<string> {
  const counts = new Map<string, number>();
  for (const link of links) {
    const key = conflictKey(link.target, link.field);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, count]) => count > 1).map(([key]) => key));
}

export function conflicts(workflow: WorkflowDefinition): Set<string> {
  return conflictsAmong(parseLinks(workflow));
}

// --- the order rule, as the server's outline states it -------------------------------

function finishesBefore(source: JobPlace, target: JobPlace): boolean {
  if (source.stage !== target.stage) return source.stage < target.stage;
  if (source.action === target.action) return source.index < target.index;
  return source.sequenced && source.action < target.action;
}

function whyNotBefore(source: JobPlace, target: JobPlace): string {
  if (source.stage > target.stage) return "it runs in a later stage";
  if (source.action === target.action) return "it comes later in the same action";
  return "it runs in parallel in the same stage";
}

/** Whether `targetJob` may use an output of `sourceJob`, with the server's sentence when not. */
export function canLink(workflow: WorkflowDefinition, sourceJob: string, targetJob: string): LinkCheck {
  const source = findJob(workflow, sourceJob);
  const target = findJob(workflow, targetJob);
  if (!source) return { ok: false, reason: `there is no job '${sourceJob}'` };
  if (!target) return { ok: false, reason: `there is no job '${targetJob}'` };
  if (sourceJob === targetJob) return { ok: false, reason: `job '${targetJob}' cannot use its own outputs` };
  if (!finishesBefore(source, target)) {
    return {
      ok: false,
      reason: `job '${sourceJob}' has not finished when '${targetJob}' starts: ${whyNotBefore(source, target)}`,
    };
  }
  return { ok: true };
}

// --- writing and removing references --------------------------------------------------

const sameOutput = (link: Link) => (item: { source: string; output: string }) =>
  item.source === link.source && item.output === link.output;

function sectionOf(job: Job, section: Section): Record<string, unknown> {
  const values: unknown = job[section];
  return typeof values === "object" && values !== null ? (values as Record<string, unknown>) : {};
}

/**
 * The job with the link written into its field. A field that already takes another job's
 * output keeps it, the new reference appended: the conflict shows instead of a silent loss.
 */
export function withLink(job: Job, link: Link): Job {
  const field = parseField(link.field);
  if (!field) return job;
  const values = sectionOf(job, field.section);
  const current = values[field.key];
  const existing = outputsReferenced(current);
  if (existing.some(sameOutput(link))) return job;
  const reference = jobOutputExpression(link.source, link.output);
  const next = existing.length > 0 ? `${String(current)} ${reference}` : reference;
  return { ...job, [field.section]: { ...values, [field.key]: next } };
}

function removeSpan(text: string, start: number, end: number): string {
  const before = text.slice(0, start);
  const after = text.slice(end);
  const spaceBefore = before === "" || /\s$/.test(before);
  if (spaceBefore && /^\s/.test(after)) return before + after.slice(1);
  if (after === "" && /\s$/.test(before)) return before.slice(0, -1);
  return before + after;
}

/**
 * The job without that link. The `${{ }}` block holding the reference is what goes: an
 * expression with one operand cut out would no longer parse. A field left empty is dropped.
 */
export function withoutLink(job: Job, link: Link): Job {
  const field = parseField(link.field);
  if (!field) return job;
  const values = sectionOf(job, field.section);
  const current = values[field.key];
  if (typeof current !== "string") return job;
  const blocks = (templateBlocks(current) ?? []).filter((block) =>
    block.references.map(jobOutput).some((item) => item !== undefined && sameOutput(link)(item)),
  );
  if (blocks.length === 0) return job;
  const remaining = blocks.reduceRight((text, block) => removeSpan(text, block.start, block.end), current);
  const nextValues = { ...values };
  if (remaining.trim() === "") delete nextValues[field.key];
  else nextValues[field.key] = remaining;
  const next: Job = { ...job, [field.section]: nextValues };
  if (Object.keys(nextValues).length === 0) delete next[field.section];
  return next;
}

export function connect(workflow: WorkflowDefinition, link: Link): { workflow: WorkflowDefinition } | { error: string } {
  if (!parseField(link.field)) {
    return { error: `'${link.field}' cannot take a link: links feed data.<key> or env.<KEY>` };
  }
  const allowed = canLink(workflow, link.source, link.target);
  if (!allowed.ok) return { error: allowed.reason };
  const target = findJob(workflow, link.target);
  if (!target) return { error: `there is no job '${link.target}'` };
  const job = withLink(target.job, link);
  return { workflow: job === target.job ? workflow : replaceJobAt(workflow, target, job) };
}

export function disconnect(workflow: WorkflowDefinition, link: Link): WorkflowDefinition {
  const target = findJob(workflow, link.target);
  if (!target) return workflow;
  const job = withoutLink(target.job, link);
  return job === target.job ? workflow : replaceJobAt(workflow, target, job);
}
