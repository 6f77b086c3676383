// Whether a YAML text can go to the canvas: it must read (no syntax error) and be shaped
// like a workflow where the designer walks it (metadata and spec mappings, spec.stages a
// list, each stage a mapping with a list of actions, each action one with a list of jobs,
// each job a mapping; params and triggers, when given, lists of mappings). The rest of the
// schema is the server's to check (Check), as before.
//
// Decisions: a text that does not qualify is not applied to the drawing (the canvas keeps
// the last text that did) and the YAML tab keeps the user and the text, saying why with the
// line; the reasons are in words. Lists may be empty: the server's Check says that a
// workflow needs a stage, in the same words as for a drawing.
import type { WorkflowDefinition } from "../api/types";
import { placeOfPath } from "./yamlLines";
import { readYaml, workflowOfYaml, type ReadYaml } from "./yaml";

export type CanvasReading =
  | { workflow: WorkflowDefinition }
  | { error: string; line?: number; from?: number; to?: number; kind: "syntax" | "shape" };

interface ShapeProblem {
  path: string;
  message: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function expect(value: unknown, path: string, shape: "mapping" | "list", what: string): ShapeProblem | undefined {
  const fits = shape === "mapping" ? isRecord(value) : Array.isArray(value);
  if (fits) return undefined;
  return value === undefined
    ? { path, message: `${path} is missing: it must be ${what}` }
    : { path, message: `${path} must be ${what}` };
}

/** A list's entries must be mappings; the first one that is not is the problem. */
function entries(list: unknown[], path: string, what: string): ShapeProblem | undefined {
  const index = list.findIndex((item) => !isRecord(item));
  return index === -1 ? undefined : { path: `${path}[${index}]`, message: `${path}[${index}] must be ${what} (a mapping of fields)` };
}

function optionalList(spec: Record<string, unknown>, key: string, what: string): ShapeProblem | undefined {
  const value = spec[key];
  if (value === undefined || value === null) return undefined;
  const path = `spec.${key}`;
  return expect(value, path, "list", `a list of ${what}s`) ?? entries(value as unknown[], path, `a ${what}`);
}

/** The first place where `value` is not shaped like a workflow, if any. */
export function shapeProblem(value: Record<string, unknown>): ShapeProblem | undefined {
  const top = expect(value.metadata, "metadata", "mapping", "a mapping of fields (namespace, name)") ??
    expect(value.spec, "spec", "mapping", "a mapping of fields (stages, params, triggers)");
  if (top) return top;
  const spec = value.spec as Record<string, unknown>;
  const stages = spec.stages;
  const problem =
    optionalList(spec, "params", "param") ??
    optionalList(spec, "triggers", "trigger") ??
    expect(stages, "spec.stages", "list", "a list of stages") ??
    entries(stages as unknown[], "spec.stages", "a stage");
  if (problem) return problem;
  for (const [s, stage] of (stages as Record<string, unknown>[]).entries()) {
    const actionsPath = `spec.stages[${s}].actions`;
    const actions = stage.actions;
    const atStage = expect(actions, actionsPath, "list", "a list of actions") ?? entries(actions as unknown[], actionsPath, "an action");
    if (atStage) return atStage;
    for (const [a, action] of (actions as Record<string, unknown>[]).entries()) {
      const jobsPath = `${actionsPath}[${a}].jobs`;
      const jobs = action.jobs;
      const atAction = expect(jobs, jobsPath, "list", "a list of jobs") ?? entries(jobs as unknown[], jobsPath, "a job");
      if (atAction) return atAction;
    }
  }
  return undefined;
}

/** The workflow a YAML text gives the canvas, or why it cannot, with the line. */
export function canvasFromYaml(text: string): CanvasReading {
  return canvasFromRead(readYaml(text));
}

/** canvasFromYaml, on a text already read. */
export function canvasFromRead(read: ReadYaml): CanvasReading {
  const parsed = workflowOfYaml(read);
  if ("error" in parsed) {
    if (read.document.errors.length) return { error: parsed.error, line: parsed.line, kind: "syntax" }; // yamlMarks marks it
    const where = placeOfPath(read, ""); // not a mapping: the document's start
    return { error: parsed.error, line: parsed.line ?? where.line, from: where.from, to: where.to, kind: "shape" };
  }
  const problem = shapeProblem(parsed.workflow as unknown as Record<string, unknown>);
  if (!problem) return { workflow: parsed.workflow };
  const where = placeOfPath(read, problem.path);
  return { error: problem.message, line: where.line, from: where.from, to: where.to, kind: "shape" };
}

/** What the YAML tab says when a text does not go to the canvas. */
export function describeYamlError(reading: { error: string; line?: number }): string {
  return reading.line ? `line ${reading.line}: ${reading.error}` : reading.error;
}
