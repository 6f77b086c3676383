import type { Param, Platform, Problem, Trigger, WorkflowDefinition } from "../../api/types";
import { CONCURRENCY, CRON, KEY, TIMEOUT } from "../../ui/rules";
import { PairsField, PlatformField, TextField } from "./fields";
import { setOrDrop } from "./optional";

type Spec = WorkflowDefinition["spec"];

interface WorkflowPanelProps {
  workflow: WorkflowDefinition;
  problems: Problem[]; // those about the workflow itself (metadata, spec.params, triggers...)
  checkedClean: boolean;
  onChange: (workflow: WorkflowDefinition) => void;
}

const TRIGGER_KINDS = ["api", "webhook", "schedule"] as const;

/** A field of the spec set, or removed when emptied: the definition keeps what the user gave. */
function withSpec<K extends keyof Spec>(workflow: WorkflowDefinition, key: K, value: Spec[K] | undefined): WorkflowDefinition {
  const spec = { ...workflow.spec };
  const empty = value === undefined || (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
  if (empty) delete spec[key];
  else spec[key] = value;
  return { ...workflow, spec };
}

/** What the whole workflow takes and how it starts: shown when no job or link is selected. */
export function WorkflowPanel({ workflow, problems, checkedClean, onChange }: WorkflowPanelProps) {
  const spec = workflow.spec;
  const problemsAt = (prefix: string) =>
    problems.filter((problem) => problem.path === prefix || problem.path.startsWith(`${prefix}.`) || problem.path.startsWith(`${prefix}[`))
      .map((problem) => problem.message);
  const params = spec.params ?? [];
  const setParam = (index: number, param: Param) => onChange(withSpec(workflow, "params", params.map((p, at) => (at === index ? param : p))));
  const triggers = spec.triggers ?? [{ type: "api" }];
  const schedule = triggers.find((trigger): trigger is Extract<Trigger, { type: "schedule" }> => trigger.type === "schedule");
  const hasTrigger = (type: string) => triggers.some((trigger) => trigger.type === type);
  const setTriggers = (next: Trigger[]) => onChange(withSpec(workflow, "triggers", next));

  return (
    <div className="workflow-panel" data-testid="workflow-panel">
      <h2>Workflow</h2>
      <p className="muted">Select a job to edit it, or a link to see what it carries.</p>
      {problems.length > 0 && (
        <ul className="problems" data-testid="workflow-problems">
          {problems.map((problem, index) => (
            <li key={index} className="field-error">
              <code>{problem.path}</code> {problem.message}
            </li>
          ))}
        </ul>
      )}
      {checkedClean && <p>Checked: no problems.</p>}
      <TextField
        label="Description"
        value={workflow.metadata.description ?? ""}
        onChange={(description) => {
          onChange({ ...workflow, metadata: setOrDrop(workflow.metadata, "description", description) });
        }}
      />
      <fieldset>
        <legend>Params</legend>
        {params.map((param, index) => (
          <div key={index} className="param">
            <TextField label="Name" value={param.name} rule={KEY} problems={problemsAt(`spec.params[${index}].name`)} onChange={(name) => setParam(index, { ...param, name })} />
            <TextField
              label="Default"
              value={param.default === undefined || param.default === null ? "" : String(param.default)}
              onChange={(value) => setParam(index, setOrDrop(param, "default", value))}
            />
            <TextField
              label="Description"
              value={param.description ?? ""}
              onChange={(description) => setParam(index, setOrDrop(param, "description", description))}
            />
            <label className="field checkbox">
              <input
                type="checkbox"
                checked={Boolean(param.required)}
                onChange={(event) => setParam(index, setOrDrop(param, "required", event.target.checked || undefined))}
              />
              <span className="field-label">Required</span>
            </label>
            <button onClick={() => onChange(withSpec(workflow, "params", params.filter((_, at) => at !== index)))}>Remove param</button>
          </div>
        ))}
        <button onClick={() => onChange(withSpec(workflow, "params", [...params, { name: `param-${params.length + 1}` }]))}>
          Add a param
        </button>
      </fieldset>
      <PairsField
        label="Env of every job"
        pairs={spec.env ?? {}}
        problemsFor={(key) => problemsAt(`spec.env.${key}`)}
        onChange={(env) => onChange(withSpec(workflow, "env", env))}
      />
      <fieldset>
        <legend>Limits</legend>
        <TextField
          label="Timeout of a run"
          value={spec.timeout === undefined ? "" : String(spec.timeout)}
          placeholder="e.g. 2h"
          rule={TIMEOUT}
          problems={problemsAt("spec.timeout")}
          onChange={(value) => onChange(withSpec(workflow, "timeout", value || undefined))}
        />
        <TextField
          label="Runs at once (others queue)"
          value={spec.concurrency === undefined ? "" : String(spec.concurrency)}
          placeholder="no limit (e.g. 1)"
          rule={CONCURRENCY}
          problems={problemsAt("spec.concurrency")}
          onChange={(value) =>
            onChange(withSpec(workflow, "concurrency", value === "" ? undefined : Number.isInteger(Number(value)) ? Number(value) : (value as never)))
          }
        />
      </fieldset>
      <PlatformField
        value={spec.platform}
        unsetLabel="Deployment default"
        hint="For every job that names none. Only matters on AWS: locally every job runs on Docker."
        problems={problemsAt("spec.platform")}
        testId="workflow-platform"
        onChange={(value) => onChange(withSpec(workflow, "platform", (value || undefined) as Platform | undefined))}
      />
      <fieldset>
        <legend>Started by</legend>
        {problemsAt("spec.triggers").map((message, index) => (
          <span key={index} className="field-error">
            {message}
          </span>
        ))}
        {TRIGGER_KINDS.map((type) => (
          <label key={type} className="field checkbox">
            <input
              type="checkbox"
              checked={hasTrigger(type)}
              onChange={(event) =>
                setTriggers(
                  event.target.checked
                    ? [...triggers, type === "schedule" ? { type, cron: "0 3 * * *" } : { type }]
                    : triggers.filter((trigger) => trigger.type !== type),
                )
              }
            />
            <span className="field-label">{type === "api" ? "the API and this designer" : type === "webhook" ? "a signed webhook" : "a schedule"}</span>
          </label>
        ))}
        {schedule && (
          <TextField
            label="Cron (UTC)"
            value={schedule.cron}
            rule={CRON}
            onChange={(cron) => setTriggers(triggers.map((trigger) => (trigger === schedule ? { ...schedule, cron } : trigger)))}
          />
        )}
        {triggers
          .filter((trigger) => !(TRIGGER_KINDS as readonly string[]).includes(trigger.type))
          .map((trigger, index) => (
            <p key={index} className="muted">
              Also started by {trigger.type} (edit in the YAML tab).
            </p>
          ))}
      </fieldset>
    </div>
  );
}
