import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { WorkflowSummary } from "../../api/types";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { formatAgo, formatDateTime } from "../../ui/format";
import { rememberedNamespace, rememberNamespace } from "../../ui/namespace";
import { StatusBadge } from "../../ui/StatusBadge";
import { useLoad } from "../../ui/useLoad";
import { SLUG as SLUG_RULE } from "../../ui/rules";
import { markNewWorkflow } from "../designer/newWorkflows";
import { RunButton } from "./RunButton";
import { DeleteButton, EnabledSwitch } from "./WorkflowActions";
import "./home.css";


/**
 * The workflows of a namespace, each with what it is for, how its last run went and when,
 * whether it is enabled (a switch), a Run button, its versions, and Delete (asks first);
 * and the way to draw a new one.
 */
export function WorkflowsView({ namespace }: { namespace?: string }) {
  const namespaces = useLoad((_signal) => api.namespaces(), []);
  const known = namespaces.data?.namespaces ?? [];
  const current = namespace ?? rememberedNamespace(known);

  useEffect(() => {
    if (current) rememberNamespace(current);
  }, [current]);

  return (
    <section className="page">
      <h1>Workflows</h1>
      <NamespacePicker known={known} current={current} />
      <ErrorNote error={namespaces.error} />
      {current && <WorkflowList namespace={current} />}
      <NewWorkflow namespace={current ?? ""} />
    </section>
  );
}

function NamespacePicker({ known, current }: { known: string[]; current?: string }) {
  if (known.length === 0) return null;
  return (
    <label className="namespace-picker">
      Namespace{" "}
      <select
        value={current}
        onChange={(event) => {
          window.location.hash = href({ view: "home", namespace: event.target.value });
        }}
      >
        {known.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}

function WorkflowList({ namespace }: { namespace: string }) {
  // Refreshed while the page is open, so a run started elsewhere shows up as the last one.
  const workflows = useLoad((_signal) => api.workflows(namespace), [namespace], {
    everyMs: 5000,
    keepPolling: () => true,
  });
  const now = Date.now() / 1000;
  if (workflows.error) return <ErrorNote error={workflows.error} />;
  const items = workflows.data?.workflows ?? [];
  if (!workflows.data) return <p className="muted">Loading…</p>;
  if (items.length === 0) return <p className="muted">No workflows in {namespace} yet.</p>;
  return (
    <table className="list" data-testid="workflow-list">
      <thead>
        <tr>
          <th>Workflow</th>
          <th>Version</th>
          <th>Last run</th>
          <th>State</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((workflow) => (
          <tr key={workflow.name} data-testid="workflow-row" data-name={workflow.name}>
            <td>
              <a href={href({ view: "designer", namespace, name: workflow.name })}>{workflow.name}</a>
              {!workflow.enabled && <span className="tag">disabled</span>}
              {workflow.description && (
                <div className="muted workflow-description" data-testid="workflow-description">
                  {workflow.description}
                </div>
              )}
            </td>
            <td>v{workflow.version}</td>
            <td data-testid="workflow-last-run">
              <LastRun workflow={workflow} now={now} />
            </td>
            <td>
              <EnabledSwitch workflow={workflow} onChanged={workflows.reload} />
            </td>
            <td className="actions">
              <RunButton workflow={workflow} />
              <a href={href({ view: "designer", namespace, name: workflow.name })}>Design</a>
              <a href={href({ view: "versions", namespace, name: workflow.name })} data-testid="workflow-versions">
                Versions
              </a>
              <a href={href({ view: "runs", namespace, workflow: workflow.name })}>Runs</a>
              <DeleteButton workflow={workflow} onDeleted={workflows.reload} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LastRun({ workflow, now }: { workflow: WorkflowSummary; now: number }) {
  const run = workflow.last_run;
  if (!run) return <span className="muted">never run</span>;
  const when = run.started_at ?? run.created_at;
  return (
    <a href={href({ view: "run", namespace: workflow.namespace, runId: run.id })} className="last-run" title={run.id}>
      <StatusBadge status={run.status} />{" "}
      <time dateTime={new Date(when * 1000).toISOString()} title={formatAgo(when, now)} data-testid="workflow-last-run-time">
        {formatDateTime(when)}
      </time>
    </a>
  );
}

function NewWorkflow({ namespace: initial }: { namespace: string }) {
  const [namespace, setNamespace] = useState(initial);
  const [name, setName] = useState("");
  useEffect(() => setNamespace(initial), [initial]);
  const problem =
    (namespace && !SLUG_RULE.allows(namespace) && `The namespace: use ${SLUG_RULE.words}.`) ||
    (name && !SLUG_RULE.allows(name) && `The name: use ${SLUG_RULE.words}.`) ||
    "";
  const [error, setError] = useState<Error>();
  return (
    <form
      className="new-workflow"
      onSubmit={async (event) => {
        event.preventDefault();
        if (problem || !namespace || !name) return;
        // A name the namespace already has opens that workflow; a new one is drawn from
        // nothing, without asking the server for it (it would answer 404).
        try {
          const known = await api.workflows(namespace);
          if (!known.workflows.some((workflow) => workflow.name === name)) markNewWorkflow(namespace, name);
        } catch (failure) {
          setError(failure as Error);
          return;
        }
        window.location.hash = href({ view: "designer", namespace, name });
      }}
    >
      <h2>New workflow</h2>
      <label>
        Namespace <input value={namespace} onChange={(event) => setNamespace(event.target.value.trim())} />
      </label>
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value.trim())} placeholder="e.g. my-pipeline" />
      </label>
      <button type="submit" disabled={!namespace || !name || Boolean(problem)}>
        Draw it
      </button>
      {problem && <span className="field-error" data-testid="new-workflow-rule" role="alert">{problem}</span>}
      <ErrorNote error={error} />
    </form>
  );
}
