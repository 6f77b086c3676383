import { api } from "../../api/client";
import { href } from "../../routing";
import { useLoad } from "../../ui/useLoad";
import { EnabledSwitch } from "../home/WorkflowActions";

export type Tab = "canvas" | "yaml";

interface ToolbarProps {
  namespace: string;
  name: string;
  savedVersion: number; // 0: never saved
  dirty: boolean;
  saving: boolean;
  canUndo: boolean;
  canRedo: boolean;
  tab: Tab;
  onTab: (tab: Tab) => void;
  onCheck: () => void;
  onSave: () => void;
  onRun: () => void;
  onAddStage: () => void;
  onUndo: () => void;
  onRedo: () => void;
  onHelp: () => void;
  /** A stored version opened read-only (savedVersion is its number): nothing can be changed. */
  readOnly?: boolean;
}

const READ_ONLY = "A stored version is read-only: open the latest to edit";

/**
 * The designer's commands over the canvas: where the draft stands, check, save, run, and the
 * way to the workflow's versions. Over a stored version (read-only) every command that would
 * change something is disabled; Check and the tabs still work.
 */
export function Toolbar(props: ToolbarProps) {
  const { namespace, name, savedVersion, dirty, saving, tab, onTab, readOnly = false } = props;
  // Whether the saved workflow is enabled: read again after each save, never for a new one.
  const state = useLoad(
    (_signal) => (savedVersion > 0 && !readOnly ? api.workflow(namespace, name) : Promise.resolve(undefined)),
    [namespace, name, savedVersion, readOnly],
  );
  const enabled = state.data?.enabled !== false;
  return (
    <div className="toolbar">
      <h1>
        {namespace}/{name}
      </h1>
      {readOnly ? (
        <span className="read-only-note" data-testid="read-only">
          Version {savedVersion}, read-only ·{" "}
          <a href={href({ view: "designer", namespace, name })} data-testid="open-latest">
            open the latest
          </a>
        </span>
      ) : (
        <span className="muted" data-testid="saved-version">
          {savedVersion ? `v${savedVersion}` : "not saved yet"}
          {dirty ? " · changed" : ""}
        </span>
      )}
      <div className="tabs" role="tablist">
        <button role="tab" aria-selected={tab === "canvas"} onClick={() => onTab("canvas")}>
          Canvas
        </button>
        <button role="tab" aria-selected={tab === "yaml"} onClick={() => onTab("yaml")}>
          YAML
        </button>
      </div>
      <button onClick={props.onCheck} data-testid="check">
        Check
      </button>
      <button
        className="primary"
        onClick={props.onSave}
        disabled={readOnly || saving || (!dirty && savedVersion > 0)}
        title={readOnly ? READ_ONLY : "Save (Ctrl+S)"}
        data-testid="save"
      >
        Save
      </button>
      <button
        onClick={props.onRun}
        disabled={readOnly || !enabled || (savedVersion === 0 && !dirty)}
        title={
          readOnly
            ? "A run starts the latest version: open the latest to run it"
            : enabled
              ? undefined
              : "This workflow is disabled: enable it to run it"
        }
        data-testid="run"
      >
        Run…
      </button>
      <button onClick={props.onAddStage} disabled={readOnly} title={readOnly ? READ_ONLY : undefined} data-testid="add-stage">
        + Stage
      </button>
      <span className="undo-redo">
        <button onClick={props.onUndo} disabled={readOnly || !props.canUndo} title="Undo (Ctrl+Z)" data-testid="undo">
          Undo
        </button>
        <button onClick={props.onRedo} disabled={readOnly || !props.canRedo} title="Redo (Ctrl+Shift+Z)" data-testid="redo">
          Redo
        </button>
      </span>
      {state.data && (
        <EnabledSwitch
          workflow={{ namespace, name, version: state.data.version, enabled }}
          onChanged={state.reload}
        />
      )}
      {savedVersion > 0 && (
        <a
          href={href({ view: "versions", namespace, name, ...(readOnly ? { to: savedVersion } : {}) })}
          data-testid="versions-link"
        >
          Versions
        </a>
      )}
      <a href={href({ view: "runs", namespace, workflow: name })}>Runs</a>
      <button className="toolbar-help" onClick={props.onHelp} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="help">
        ?
      </button>
    </div>
  );
}
