// What a run ran with, at the top of its side panel: the workflow version (a link that opens
// that version read-only, not the latest), what started it (trigger.ts's words, with every
// field and a webhook's whole payload one click away), what it re-ran, and its params.
// Everything a user or a sender wrote is shown as text.

import type { RunDocument } from "../../api/types";
import { href } from "../../routing";
import { rerunScopeLabel } from "./rerun";
import { describeTrigger } from "./trigger";

export function RunContext({ run, namespace }: { run: RunDocument; namespace: string }) {
  const [workflowName = ""] = run.workflow.split("/").slice(1);
  const trigger = describeTrigger(run.trigger);
  const params = Object.entries(run.params ?? {});
  return (
    <section className="run-context" data-testid="run-context">
      <h2>Run</h2>
      <dl className="run-facts">
        <dt>Workflow</dt>
        <dd>
          <a href={versionHref(namespace, workflowName, run.workflow_version)} data-testid="run-context-version">
            {run.workflow} version {run.workflow_version}
          </a>{" "}
          <span className="muted">(as it ran; </span>
          <a href={href({ view: "designer", namespace, name: workflowName })}>the latest</a>
          <span className="muted">)</span>
        </dd>
        <dt>Started by</dt>
        <dd data-testid="run-trigger">{trigger.headline}</dd>
        {trigger.who && trigger.type !== "api" && trigger.type !== "schedule" && (
          <>
            <dt>Who</dt>
            <dd data-testid="run-trigger-who">{trigger.who}</dd>
          </>
        )}
        {run.rerun_of && (
          <>
            <dt>Re-run of</dt>
            <dd data-testid="run-context-rerun">
              <a href={href({ view: "run", namespace, runId: run.rerun_of })}>{run.rerun_of}</a> ({rerunScopeLabel(run.rerun_scope)})
            </dd>
          </>
        )}
      </dl>
      <h3>Params</h3>
      {params.length === 0 ? (
        <p className="muted" data-testid="run-params-none">None.</p>
      ) : (
        <table className="list" data-testid="run-params">
          <tbody>
            {params.map(([name, value]) => (
              <tr key={name} data-testid="run-param" data-name={name}>
                <th>{name}</th>
                <td className="mono">{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {trigger.fields.length > 0 && (
        <>
          <h3>Trigger</h3>
          <table className="list" data-testid="run-trigger-fields">
            <tbody>
              {trigger.fields.map(([name, value]) => (
                <tr key={name} data-testid="run-trigger-field" data-name={name}>
                  <th>{name}</th>
                  <td className="mono">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {trigger.payload !== null && (
        <details className="run-trigger-payload" data-testid="run-trigger-payload">
          <summary>The whole payload</summary>
          <pre className="mono">{trigger.payload}</pre>
        </details>
      )}
    </section>
  );
}

/** The designer on the version the run ran, read-only. */
export function versionHref(namespace: string, name: string, version: number): string {
  return href({ view: "designer", namespace, name, version });
}
