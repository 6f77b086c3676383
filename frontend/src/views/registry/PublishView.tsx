// Publishing a component version from a form. The server validates; every problem it reports
// is shown next to the field it is about, or in a list when the form has no place for it.
// The form may start from a published version (see PUBLISH_DRAFT_KEY in registryModel).
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react";
import { api, ApiError } from "../../api/client";
import type { Problem } from "../../api/types";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { useLoad } from "../../ui/useLoad";
import {
  PUBLISH_DRAFT_KEY,
  buildDefinition,
  decodeDraft,
  emptyForm,
  emptyInput,
  emptyOutput,
  formFromDefinition,
  placeProblems,
  withoutProblemsIn,
  withoutProblemsOf,
  type InputRow,
  type OutputRow,
  type PublishForm,
  type ValueType,
} from "./registryModel";
import "./registry.css";

export interface PublishViewProps {
  namespace?: string;
}

const TYPES: ValueType[] = ["string", "number", "boolean"];

/** The form to start with: the draft "Publish a new version" left, else an empty one. */
function initialForm(namespace: string | undefined): { form: PublishForm; from?: string } {
  const draft = decodeDraft(sessionStorage.getItem(PUBLISH_DRAFT_KEY));
  if (draft && (namespace === undefined || draft.metadata.namespace === namespace)) {
    const { namespace: ns, name, version } = draft.metadata;
    return { form: formFromDefinition(draft), from: `${ns}/${name}@${version}` };
  }
  return { form: emptyForm(namespace ?? "") };
}

export function PublishView({ namespace }: PublishViewProps) {
  const [start] = useState(() => initialForm(namespace));
  const [form, setForm] = useState<PublishForm>(start.form);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [failure, setFailure] = useState<{ message: string; error?: unknown }>();
  const [sending, setSending] = useState(false);
  const namespaces = useLoad((_signal) => api.namespaces(), []);

  // The draft is read once; leaving it would pre-fill the next, unrelated, publish too.
  useEffect(() => sessionStorage.removeItem(PUBLISH_DRAFT_KEY), []);

  const placed = placeProblems(problems, form);
  const at = (field: string) => placed.byField.get(field) ?? [];

  /** Change some fields; what the server said about the field edited may no longer hold. */
  const edit = (field: string, change: Partial<PublishForm>) => {
    setForm((current) => ({ ...current, ...change }));
    setProblems((current) => withoutProblemsOf(current, field));
  };
  const editInput = (index: number, field: keyof InputRow, change: Partial<InputRow>) => {
    setForm((current) => ({ ...current, inputs: current.inputs.map((row, i) => (i === index ? { ...row, ...change } : row)) }));
    setProblems((current) => withoutProblemsOf(withoutProblemsOf(current, `inputs[${index}].${field}`), `inputs[${index}]`));
  };
  const editOutput = (index: number, field: keyof OutputRow, change: Partial<OutputRow>) => {
    setForm((current) => ({ ...current, outputs: current.outputs.map((row, i) => (i === index ? { ...row, ...change } : row)) }));
    setProblems((current) => withoutProblemsOf(withoutProblemsOf(current, `outputs[${index}].${field}`), `outputs[${index}]`));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(undefined);
    const built = buildDefinition(form);
    if (built.problems.length) {
      setProblems(built.problems);
      setFailure({ message: "Not sent: the form has problems, shown next to their fields." });
      return;
    }
    const { namespace: ns, name, version } = built.definition.metadata;
    setSending(true);
    try {
      await api.publishComponent(ns, built.definition);
      window.location.hash = href({ view: "registry", namespace: ns, name, version });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        setProblems(error.problems);
        setFailure({ message: `Not published: ${error.message}.` });
      } else if (error instanceof ApiError && error.isConflict) {
        setProblems([{ path: "metadata.version", message: `version ${version} is already published` }]);
        setFailure({
          message: `${ns}/${name}@${version} is already published. A published version never changes: publish under a new version number.`,
        });
      } else {
        setFailure({ message: "Not published.", error });
      }
    } finally {
      setSending(false);
    }
  };

  return (
    <section className="page registry">
      <p className="registry-crumbs">
        <a href={href({ view: "registry" })}>Components</a>
        {namespace && (
          <>
            {" "}
            / <a href={href({ view: "registry", namespace })}>{namespace}</a>
          </>
        )}{" "}
        / publish
      </p>
      <h1>Publish a component version</h1>
      {start.from && (
        <p className="muted" data-testid="publish-from">
          Pre-filled from {start.from}.
        </p>
      )}
      <form className="registry-form" data-testid="publish-form" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Component</legend>
          <div className="registry-grid">
            <Field label="Namespace" errors={at("namespace")}>
              {(ids) => (
                <>
                  <input
                    {...bind(ids)}
                    value={form.namespace}
                    list="registry-known-namespaces"
                    required
                    onChange={(e) => edit("namespace", { namespace: e.target.value })}
                  />
                  <datalist id="registry-known-namespaces">
                    {(namespaces.data?.namespaces ?? []).map((each) => (
                      <option key={each} value={each} />
                    ))}
                  </datalist>
                </>
              )}
            </Field>
            <Field label="Name" errors={at("name")}>
              {(ids) => (
                <input {...bind(ids)} value={form.name} required placeholder="python-pytest" onChange={(e) => edit("name", { name: e.target.value })} />
              )}
            </Field>
            <Field label="Version" errors={at("version")}>
              {(ids) => (
                <input {...bind(ids)} value={form.version} required placeholder="1.0.0" onChange={(e) => edit("version", { version: e.target.value })} />
              )}
            </Field>
          </div>
          <Field label="Description" errors={at("description")}>
            {(ids) => (
              <textarea {...bind(ids)} rows={2} value={form.description} onChange={(e) => edit("description", { description: e.target.value })} />
            )}
          </Field>
        </fieldset>

        <fieldset>
          <legend>Container</legend>
          <Field label="Image" errors={at("image")}>
            {(ids) => (
              <input {...bind(ids)} value={form.image} required placeholder="demo/python-pytest:1.0.0" onChange={(e) => edit("image", { image: e.target.value })} />
            )}
          </Field>
          <Field label="Command" hint="Optional: one argument per line; empty runs the image's own command." errors={at("command")}>
            {(ids) => (
              <textarea {...bind(ids)} rows={3} className="mono" value={form.command} onChange={(e) => edit("command", { command: e.target.value })} />
            )}
          </Field>
          <div className="registry-grid">
            <Field label="Data format" hint="How CO_DATA reaches the container." errors={at("data_format")}>
              {(ids) => (
                <select
                  {...bind(ids)}
                  value={form.dataFormat}
                  onChange={(e) => edit("data_format", { dataFormat: e.target.value === "json" ? "json" : "pairs" })}
                >
                  <option value="pairs">pairs (key=value …)</option>
                  <option value="json">json (one object)</option>
                </select>
              )}
            </Field>
            <Field label="Timeout" hint="Like 30s, 10m, 1h30m; empty for the default." errors={at("timeout")}>
              {(ids) => (
                <input {...bind(ids)} value={form.timeout} placeholder="10m" onChange={(e) => edit("timeout", { timeout: e.target.value })} />
              )}
            </Field>
          </div>
          <Field
            label="Strict result"
            checkbox
            hint="Fail the job when the container exits 0 without printing a CO_RESULT line."
            errors={at("strict_result")}
          >
            {(ids) => (
              <input {...bind(ids)} type="checkbox" checked={form.strictResult} onChange={(e) => edit("strict_result", { strictResult: e.target.checked })} />
            )}
          </Field>
        </fieldset>

        <fieldset data-testid="publish-inputs">
          <legend>Inputs</legend>
          <FieldErrors errors={at("inputs")} />
          {form.inputs.length === 0 && <p className="muted">No inputs.</p>}
          {form.inputs.map((row, index) => (
            <div className="registry-row" key={row.key} data-testid="input-row">
              <RowField row="Input" index={index} label="name" errors={at(`inputs[${index}].name`)}>
                {(ids) => (
                  <input {...bind(ids)} value={row.name} onChange={(e) => editInput(index, "name", { name: e.target.value })} />
                )}
              </RowField>
              <RowField row="Input" index={index} label="type" errors={at(`inputs[${index}].type`)}>
                {(ids) => (
                  <TypeSelect ids={ids} value={row.type} onChange={(type) => editInput(index, "type", { type })} />
                )}
              </RowField>
              <RowField row="Input" index={index} label="required" checkbox errors={at(`inputs[${index}].required`)}>
                {(ids) => (
                  <input {...bind(ids)} type="checkbox" checked={row.required} onChange={(e) => editInput(index, "required", { required: e.target.checked })} />
                )}
              </RowField>
              <RowField row="Input" index={index} label="default" errors={at(`inputs[${index}].default`)}>
                {(ids) =>
                  row.type === "boolean" ? (
                    <select {...bind(ids)} value={row.default} onChange={(e) => editInput(index, "default", { default: e.target.value })}>
                      <option value="">(none)</option>
                      <option value="true">true</option>
                      <option value="false">false</option>
                    </select>
                  ) : (
                    <input {...bind(ids)} value={row.default} onChange={(e) => editInput(index, "default", { default: e.target.value })} />
                  )
                }
              </RowField>
              <RowField row="Input" index={index} label="description" wide errors={at(`inputs[${index}].description`)}>
                {(ids) => (
                  <input {...bind(ids)} value={row.description} onChange={(e) => editInput(index, "description", { description: e.target.value })} />
                )}
              </RowField>
              <button
                type="button"
                className="registry-remove"
                aria-label={`Remove input ${index + 1}`}
                onClick={() => {
                  setForm((current) => ({ ...current, inputs: current.inputs.filter((_row, i) => i !== index) }));
                  setProblems((current) => withoutProblemsIn(current, "inputs"));
                }}
              >
                Remove
              </button>
              <FieldErrors errors={at(`inputs[${index}]`)} />
            </div>
          ))}
          <button type="button" onClick={() => setForm((current) => ({ ...current, inputs: [...current.inputs, emptyInput()] }))}>
            Add input
          </button>
        </fieldset>

        <fieldset data-testid="publish-outputs">
          <legend>Outputs</legend>
          <FieldErrors errors={at("outputs")} />
          {form.outputs.length === 0 && <p className="muted">No outputs.</p>}
          {form.outputs.map((row, index) => (
            <div className="registry-row" key={row.key} data-testid="output-row">
              <RowField row="Output" index={index} label="name" errors={at(`outputs[${index}].name`)}>
                {(ids) => (
                  <input {...bind(ids)} value={row.name} onChange={(e) => editOutput(index, "name", { name: e.target.value })} />
                )}
              </RowField>
              <RowField row="Output" index={index} label="type" errors={at(`outputs[${index}].type`)}>
                {(ids) => (
                  <TypeSelect ids={ids} value={row.type} onChange={(type) => editOutput(index, "type", { type })} />
                )}
              </RowField>
              <RowField row="Output" index={index} label="description" wide errors={at(`outputs[${index}].description`)}>
                {(ids) => (
                  <input {...bind(ids)} value={row.description} onChange={(e) => editOutput(index, "description", { description: e.target.value })} />
                )}
              </RowField>
              <button
                type="button"
                className="registry-remove"
                aria-label={`Remove output ${index + 1}`}
                onClick={() => {
                  setForm((current) => ({ ...current, outputs: current.outputs.filter((_row, i) => i !== index) }));
                  setProblems((current) => withoutProblemsIn(current, "outputs"));
                }}
              >
                Remove
              </button>
              <FieldErrors errors={at(`outputs[${index}]`)} />
            </div>
          ))}
          <button type="button" onClick={() => setForm((current) => ({ ...current, outputs: [...current.outputs, emptyOutput()] }))}>
            Add output
          </button>
        </fieldset>

        <fieldset>
          <legend>Resources</legend>
          <FieldErrors errors={at("resources")} />
          <div className="registry-grid">
            <Field label="CPU request" hint="Cores, like 0.25." errors={at("resources.cpu_request")}>
              {(ids) => (
                <input {...bind(ids)} inputMode="decimal" value={form.cpuRequest} onChange={(e) => edit("resources.cpu_request", { cpuRequest: e.target.value })} />
              )}
            </Field>
            <Field label="CPU limit" hint="Cores, like 1." errors={at("resources.cpu_limit")}>
              {(ids) => (
                <input {...bind(ids)} inputMode="decimal" value={form.cpuLimit} onChange={(e) => edit("resources.cpu_limit", { cpuLimit: e.target.value })} />
              )}
            </Field>
            <Field label="Memory request" hint="Like 128Mi." errors={at("resources.memory_request")}>
              {(ids) => (
                <input {...bind(ids)} value={form.memoryRequest} onChange={(e) => edit("resources.memory_request", { memoryRequest: e.target.value })} />
              )}
            </Field>
            <Field label="Memory limit" hint="Like 1Gi." errors={at("resources.memory_limit")}>
              {(ids) => (
                <input {...bind(ids)} value={form.memoryLimit} onChange={(e) => edit("resources.memory_limit", { memoryLimit: e.target.value })} />
              )}
            </Field>
          </div>
        </fieldset>

        {failure && (
          <div className="error-note" role="alert" data-testid="publish-failure">
            <div>{failure.message}</div>
            {placed.unplaced.length > 0 && (
              <ul data-testid="publish-problems">
                {placed.unplaced.map((problem, index) => (
                  <li key={index}>
                    {problem.path && <code>{problem.path}</code>} {problem.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {failure?.error !== undefined && <ErrorNote error={failure.error} />}

        <div className="registry-actions">
          <button type="submit" className="primary" disabled={sending} data-testid="publish-submit">
            {sending ? "Publishing…" : "Publish"}
          </button>
        </div>
      </form>
    </section>
  );
}

function FieldErrors({ errors }: { errors: string[] }) {
  return (
    <>
      {errors.map((message, index) => (
        <span key={index} className="field-error" data-testid="field-error">
          {message}
        </span>
      ))}
    </>
  );
}

/** The control of a field, given the ids its label and its hint/errors refer to. */
interface ControlIds {
  id: string;
  describedBy?: string;
}
type Control = (ids: ControlIds) => ReactNode;

const bind = ({ id, describedBy }: ControlIds) => ({ id, "aria-describedby": describedBy });

/** A labelled field with its hint and the problems about it. The label names its control by
 *  id rather than wrapping it, so a textarea's text never becomes part of the label. */
function Field(props: { label: ReactNode; hint?: string; checkbox?: boolean; wide?: boolean; errors: string[]; children: Control }) {
  const { label, hint, checkbox, wide, errors, children } = props;
  const id = useId();
  const classes = ["registry-field", checkbox ? "checkbox" : "", wide ? "wide" : "", errors.length ? "invalid" : ""]
    .filter(Boolean)
    .join(" ");
  const describedBy = [hint ? `${id}-hint` : "", errors.length ? `${id}-errors` : ""].filter(Boolean).join(" ") || undefined;
  const labelled = (
    <label htmlFor={id} className="registry-label">
      {label}
    </label>
  );
  return (
    <div className={classes}>
      <div className="registry-control">
        {!checkbox && labelled}
        {children({ id, describedBy })}
        {checkbox && labelled}
      </div>
      {hint && (
        <span className="registry-hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      <span id={`${id}-errors`}>
        <FieldErrors errors={errors} />
      </span>
    </div>
  );
}

/** A field of an input or output row: labelled "Input 2 name" for assistive technology and
 *  tests, showing only "name" on screen. */
function RowField(props: {
  row: "Input" | "Output";
  index: number;
  label: string;
  checkbox?: boolean;
  wide?: boolean;
  errors: string[];
  children: Control;
}) {
  const { row, index, label, ...rest } = props;
  const text = (
    <>
      <span className="visually-hidden">
        {row} {index + 1}{" "}
      </span>
      {label}
    </>
  );
  return <Field label={text} {...rest} />;
}

function TypeSelect({ ids, value, onChange }: { ids: ControlIds; value: ValueType; onChange: (type: ValueType) => void }) {
  return (
    <select {...bind(ids)} value={value} onChange={(e) => onChange(TYPES.find((type) => type === e.target.value) ?? "string")}>
      {TYPES.map((type) => (
        <option key={type} value={type}>
          {type}
        </option>
      ))}
    </select>
  );
}
