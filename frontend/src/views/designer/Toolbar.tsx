import { href } from "../../routing";

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
}

/** The designer's commands over the canvas: where the draft stands, check, save, run. */
export function Toolbar(props: ToolbarProps) {
  const { namespace, name, savedVersion, dirty, saving, tab, onTab } = props;
  return (
    <div className="toolbar">
      <h1>
        {namespace}/{name}
      </h1>
      <span className="muted" data-testid="saved-version">
        {savedVersion ? `v${savedVersion}` : "not saved yet"}
        {dirty ? " · changed" : ""}
      </span>
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
        disabled={saving || (!dirty && savedVersion > 0)}
        title="Save (Ctrl+S)"
        data-testid="save"
      >
        Save
      </button>
      <button onClick={props.onRun} disabled={savedVersion === 0 && !dirty} data-testid="run">
        Run…
      </button>
      <button onClick={props.onAddStage} data-testid="add-stage">
        + Stage
      </button>
      <span className="undo-redo">
        <button onClick={props.onUndo} disabled={!props.canUndo} title="Undo (Ctrl+Z)" data-testid="undo">
          Undo
        </button>
        <button onClick={props.onRedo} disabled={!props.canRedo} title="Redo (Ctrl+Shift+Z)" data-testid="redo">
          Redo
        </button>
      </span>
      <a href={href({ view: "runs", namespace, workflow: name })}>Runs</a>
      <button className="toolbar-help" onClick={props.onHelp} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" data-testid="help">
        ?
      </button>
    </div>
  );
}
