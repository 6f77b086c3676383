import { useState } from "react";
import { api } from "../../api/client";
import type { Param, WorkflowSummary } from "../../api/types";
import { href } from "../../routing";
import { RunDialog } from "../designer/RunDialog";

interface Asked {
  params: Param[];
  previous: Record<string, string>;
}

/**
 * Runs a workflow from the list: asks for its params first (filled in from its last run, as
 * the designer's Run does), then opens the new run. A disabled workflow cannot be run.
 */
export function RunButton({ workflow }: { workflow: WorkflowSummary }) {
  const [asked, setAsked] = useState<Asked>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const open = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const [version, last] = await Promise.all([
        api.workflow(workflow.namespace, workflow.name),
        workflow.last_run ? api.run(workflow.namespace, workflow.last_run.id).catch(() => undefined) : undefined,
      ]);
      setAsked({ params: version.definition.spec.params ?? [], previous: last?.params ?? {} });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const start = async (values: Record<string, string>) => {
    setBusy(true);
    setError(undefined);
    try {
      const run = await api.startRun(workflow.namespace, workflow.name, values);
      window.location.hash = href({ view: "run", namespace: workflow.namespace, runId: run.id });
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  };

  return (
    <>
      <button
        type="button"
        className="primary"
        data-testid="workflow-run"
        disabled={!workflow.enabled || busy}
        title={workflow.enabled ? `Run ${workflow.name}` : "This workflow is disabled: enable it to run it"}
        onClick={() => void open()}
      >
        Run
      </button>
      {error && !asked && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
      {asked && (
        <RunDialog
          params={asked.params}
          previous={asked.previous}
          busy={busy}
          error={error}
          onStart={(values) => void start(values)}
          onClose={() => {
            setAsked(undefined);
            setError(undefined);
          }}
        />
      )}
    </>
  );
}
