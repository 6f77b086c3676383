// Switching a workflow off and on, and deleting it, from the workflow list. A disabled
// workflow starts no run (from the Run button, a webhook, a schedule or an event) until it is
// enabled again. Deleting asks first, by typing the workflow's name (as GitHub does for a
// repository): it is the one change here that the list cannot take back. Its runs stay in
// the history and each version stays readable by number; saving the name again revives it.
import { useState } from "react";
import { api } from "../../api/client";
import type { WorkflowSummary } from "../../api/types";

export function EnabledSwitch({ workflow, onChanged }: { workflow: WorkflowSummary; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const { enabled } = workflow;
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.setWorkflowEnabled(workflow.namespace, workflow.name, !enabled);
      onChanged();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <label
      className="enabled-switch"
      title={enabled ? "Enabled: runs start. Untick to stop every new run." : "Disabled: no run starts. Tick to enable."}
    >
      <input
        type="checkbox"
        role="switch"
        checked={enabled}
        disabled={busy}
        onChange={() => void toggle()}
        aria-label={`${workflow.name} enabled`}
        data-testid="workflow-enabled"
      />{" "}
      {enabled ? "Enabled" : "Disabled"}
      {error && (
        <span className="field-error" role="alert">
          {" "}
          {error}
        </span>
      )}
    </label>
  );
}

export function DeleteButton({ workflow, onDeleted }: { workflow: WorkflowSummary; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  return (
    <>
      <button type="button" className="danger-link" onClick={() => setAsking(true)} data-testid="workflow-delete">
        Delete…
      </button>
      {asking && (
        <DeleteDialog
          workflow={workflow}
          onCancel={() => setAsking(false)}
          onDeleted={() => {
            setAsking(false);
            onDeleted();
          }}
        />
      )}
    </>
  );
}

function DeleteDialog(props: { workflow: WorkflowSummary; onCancel: () => void; onDeleted: () => void }) {
  const { workflow, onCancel, onDeleted } = props;
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const confirmed = typed.trim() === workflow.name;
  const remove = async () => {
    if (!confirmed) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteWorkflow(workflow.namespace, workflow.name);
      onDeleted();
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  };
  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-label={`Delete ${workflow.name}`}
        data-testid="delete-dialog"
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
        }}
        onSubmit={(event) => {
          event.preventDefault();
          void remove();
        }}
      >
        <h2>
          Delete {workflow.namespace}/{workflow.name}?
        </h2>
        <p>
          It leaves the list and no run of it starts any more. Its past runs stay in the history, and each of its{" "}
          {workflow.version === 1 ? "1 version" : `${workflow.version} versions`} stays readable from them.
        </p>
        <label>
          Type <strong>{workflow.name}</strong> to confirm
          <input
            autoFocus
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            aria-label="The workflow's name, to confirm"
            data-testid="delete-confirm-name"
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={onCancel} data-testid="delete-cancel">
            Cancel
          </button>
          <button type="submit" className="danger" disabled={!confirmed || busy} data-testid="delete-confirm">
            Delete
          </button>
        </div>
      </form>
    </div>
  );
}
