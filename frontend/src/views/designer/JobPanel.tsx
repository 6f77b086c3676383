import { useState } from "react";
import type { ComponentDefinition, Job, Platform, Scalar, WorkflowDefinition } from "../../api/types";
import { platformLabel, platformNamed, type Link } from "../../graph";
import { FanOutSection } from "./FanOutSection";
import { MountsField, PairsField, PlatformField, TextField } from "./fields";
import { CPU, DURATION_RULE, JOB_NAME, MEMORY_RULE, RETRIES, TIMEOUT } from "../../ui/rules";
import { setOrDrop } from "./optional";
import type { Catalog } from "./useCatalog";
import { refOf } from "./useCatalog";

interface JobPanelProps {
  job: Job;
  links: Link[]; // links into this job
  problems: { field?: string; message: string }[];
  catalog: Catalog;
  workflowPlatform?: WorkflowDefinition["spec"]["platform"]; // what "the workflow's default" is
  onChange: (job: Job) => void;
  onRename: (name: string) => string | undefined; // why the name was not taken, when it was not
  onUnlink: (link: Link) => void;
  onDelete: () => void;
}

// Fields that show their own problems; any other problem of the job is listed at the top.
const FIELDS_SHOWN =
  /^(name|component|image|timeout|platform|if|retries\.(limit|backoff)|resources\.\w+|data\..+|env\..+|mounts\[\d+\]\.\w+|shards|max_parallel|fail_fast|allowed_failures|matrix(\W.*)?)$/;

const text = (value: unknown) => (value === undefined || value === null ? "" : String(value));
/** A placeholder is a hint, never taken for a value: what the component gives, or an example. */
const defaultOr = (inherited: unknown, example: string) => (text(inherited) ? `default: ${text(inherited)}` : example);

/** A typed value for a component input: "3" for a number input is 3, "true" for a boolean is true. */
export function typedInput(type: string | undefined, value: string): Scalar {
  if (type === "number" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  if (type === "boolean" && (value === "true" || value === "false")) return value === "true";
  return value;
}

/** The unset choice of a job's platform, naming what it means when the workflow chose one. */
export function workflowDefaultLabel(workflowPlatform: unknown): string {
  const named = platformNamed(workflowPlatform);
  return named === undefined ? "Workflow's default" : `Workflow's default (${platformLabel(named)})`;
}

/** The job's name, renamed as it is typed; a name that cannot be taken says why and is not applied. */
function JobNameField(props: { name: string; problems: string[]; onRename: (name: string) => string | undefined }) {
  const [refused, setRefused] = useState<string>();
  return (
    <TextField
      label="Name"
      value={props.name}
      onChange={(name) => setRefused(props.onRename(name))}
      onBlur={() => setRefused(undefined)} // the field shows the job's name again
      problems={[...props.problems, ...(refused ? [refused] : [])]}
      rule={JOB_NAME}
      testId="job-name"
    />
  );
}

export function JobPanel({ job, links, problems, catalog, workflowPlatform, onChange, onRename, onUnlink, onDelete }: JobPanelProps) {
  const component: ComponentDefinition | undefined = job.component ? catalog.lookup(job.component) : undefined;
  const problemsAt = (field: string) => problems.filter((p) => p.field === field).map((p) => p.message);
  const general = problems.filter((p) => !p.field || !FIELDS_SHOWN.test(p.field));
  const data = job.data ?? {};
  const inputs = component?.spec.inputs ?? [];
  const extraData = Object.fromEntries(
    Object.entries(data)
      .filter(([key]) => !inputs.some((input) => input.name === key))
      .map(([key, value]) => [key, String(value)]),
  );
  const setData = (next: Record<string, Scalar>) => onChange(setOrDrop(job, "data", Object.keys(next).length ? next : undefined));
  const [namespace = "", rest = ""] = (job.component ?? "").split("/");
  const componentName = rest.split("@")[0] ?? "";
  const versions = job.component ? catalog.versionsOf(namespace, componentName) : [];

  return (
    <div className="job-panel" data-testid="job-panel">
      <h2>Job</h2>
      {general.map((problem, index) => (
        <p key={index} className="field-error" data-testid="field-error">
          {problem.message}
        </p>
      ))}
      <JobNameField name={job.name} problems={problemsAt("name")} onRename={onRename} />
      {job.component !== undefined ? (
        <label className={`field${problemsAt("component").length ? " invalid" : ""}`}>
          <span className="field-label">Component</span>
          <select value={job.component} onChange={(event) => onChange({ ...job, component: event.target.value })}>
            {!versions.some((entry) => refOf(entry) === job.component) && <option value={job.component}>{job.component}</option>}
            {versions.map((entry) => (
              <option key={entry.version} value={refOf(entry)}>
                {refOf(entry)}
                {entry.deprecated ? " (deprecated)" : ""}
              </option>
            ))}
          </select>
          {problemsAt("component").map((message, index) => (
            <span key={index} className="field-error" data-testid="field-error">
              {message}
            </span>
          ))}
        </label>
      ) : (
        <TextField label="Image" value={text(job.image)} onChange={(value) => onChange({ ...job, image: value })} problems={problemsAt("image")} />
      )}
      {component?.metadata.description && <p className="muted">{component.metadata.description}</p>}

      <fieldset>
        <legend>Inputs</legend>
        {inputs.length === 0 && <p className="muted">This component declares no inputs.</p>}
        <p className="field-hint">
          A value may use <code>{"${{ params.NAME }}"}</code>, <code>{"${{ trigger.ref }}"}</code> or{" "}
          <code>{"${{ run.id }}"}</code>; to use another job's output, drag from it to the input on the canvas.
        </p>
        {inputs.map((input) => {
          const field = `data.${input.name}`;
          const feeding = links.filter((link) => link.field === field);
          return (
            <div key={input.name} className="input-row">
              <TextField
                label={`${input.name}${input.required ? " *" : ""}`}
                value={text(data[input.name])}
                placeholder={input.default !== undefined && input.default !== null ? `default: ${input.default}` : undefined}
                hint={input.description}
                problems={problemsAt(field)}
                testId={`input-${input.name}`}
                onChange={(value) => setData(setOrDrop(data, input.name, value === "" ? undefined : typedInput(input.type, value)))}
              />
              {feeding.map((link) => (
                <span key={`${link.source}.${link.output}`} className="link-chip" data-testid="link-chip">
                  from {link.source}.{link.output}
                  <button aria-label={`Unlink ${link.source}.${link.output}`} onClick={() => onUnlink(link)}>
                    ×
                  </button>
                </span>
              ))}
            </div>
          );
        })}
      </fieldset>

      <PairsField
        label="Other data"
        pairs={extraData}
        problemsFor={(key) => problemsAt(`data.${key}`)}
        onChange={(pairs) => {
          const declared = Object.fromEntries(Object.entries(data).filter(([key]) => inputs.some((i) => i.name === key)));
          setData({ ...declared, ...pairs });
        }}
      />
      <PairsField
        label="Env"
        pairs={job.env ?? {}}
        problemsFor={(key) => problemsAt(`env.${key}`)}
        onChange={(pairs) => onChange(setOrDrop(job, "env", Object.keys(pairs).length ? pairs : undefined))}
      />

      <MountsField
        mounts={job.mounts ?? []}
        problemsAt={problemsAt}
        onChange={(mounts) => onChange(setOrDrop(job, "mounts", mounts.length ? mounts : undefined))}
      />

      <fieldset>
        <legend>Resources</legend>
        {(["cpu_request", "cpu_limit", "memory_request", "memory_limit"] as const).map((key) => (
          <TextField
            key={key}
            label={key.replace("_", " ")}
            value={text(job.resources?.[key])}
            placeholder={defaultOr(component?.spec.resources?.[key], key.startsWith("cpu") ? "e.g. 0.5" : "e.g. 256Mi")}
            rule={key.startsWith("cpu") ? CPU : MEMORY_RULE}
            problems={problemsAt(`resources.${key}`)}
            onChange={(value) => {
              const typed = key.startsWith("cpu") && value !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
              const resources = setOrDrop(job.resources ?? {}, key, typed as never);
              onChange(setOrDrop(job, "resources", Object.keys(resources).length ? resources : undefined));
            }}
          />
        ))}
      </fieldset>

      <PlatformField
        value={job.platform}
        unsetLabel={workflowDefaultLabel(workflowPlatform)}
        hint="Only matters on AWS: locally every job runs on Docker."
        problems={problemsAt("platform")}
        testId="job-platform"
        onChange={(value) => onChange(setOrDrop(job, "platform", value as Platform))}
      />

      <fieldset>
        <legend>Behaviour</legend>
        <TextField
          label="Timeout"
          value={text(job.timeout)}
          placeholder={defaultOr(component?.spec.timeout, "e.g. 10m")}
          rule={TIMEOUT}
          problems={problemsAt("timeout")}
          onChange={(value) => onChange(setOrDrop(job, "timeout", value))}
        />
        <TextField
          label="Retries"
          value={text(job.retries?.limit)}
          placeholder="none (e.g. 2)"
          rule={RETRIES}
          problems={problemsAt("retries.limit")}
          onChange={(value) => {
            const limit = value === "" ? undefined : Number.isInteger(Number(value)) ? Number(value) : (value as never);
            const retries = setOrDrop(job.retries ?? {}, "limit", limit);
            onChange(setOrDrop(job, "retries", Object.keys(retries).length ? retries : undefined));
          }}
        />
        <TextField
          label="Retry backoff"
          value={text(job.retries?.backoff)}
          placeholder="default: 10s"
          rule={DURATION_RULE}
          problems={problemsAt("retries.backoff")}
          onChange={(value) => {
            const retries = setOrDrop(job.retries ?? {}, "backoff", value);
            onChange(setOrDrop(job, "retries", Object.keys(retries).length ? retries : undefined));
          }}
        />
        <TextField
          label="Run only if"
          value={text(job.if)}
          placeholder="e.g. ${{ params.deploy == 'true' }}"
          problems={problemsAt("if")}
          onChange={(value) => onChange(setOrDrop(job, "if", value))}
        />
        <label className="field checkbox">
          <input
            type="checkbox"
            checked={Boolean(job.continue_on_error)}
            onChange={(event) => onChange(setOrDrop(job, "continue_on_error", event.target.checked || undefined))}
          />
          <span className="field-label">Continue on error</span>
        </label>
      </fieldset>
      <FanOutSection
        job={job}
        problemsAt={problemsAt}
        matrixProblems={problems.filter((p) => p.field !== undefined && /^matrix(\W|$)/.test(p.field)).map((p) => p.message)}
        onChange={onChange}
      />
      <button className="danger" onClick={onDelete} data-testid="job-delete">
        Delete job
      </button>
    </div>
  );
}
