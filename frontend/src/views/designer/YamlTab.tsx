import { useState } from "react";
import type { WorkflowDefinition } from "../../api/types";
import { workflowToYaml, yamlToWorkflow } from "../../graph";

/** The definition as YAML; every edit that parses goes straight back to the drawing. */
export function YamlTab({ workflow, onChange }: { workflow: WorkflowDefinition; onChange: (next: WorkflowDefinition) => void }) {
  const [text, setText] = useState(() => workflowToYaml(workflow));
  const [error, setError] = useState<string>();
  return (
    <div className="yaml-tab">
      <textarea
        aria-label="Workflow YAML"
        data-testid="yaml-editor"
        data-own-keys // the text's own undo
        spellCheck={false}
        value={text}
        onChange={(event) => {
          const next = event.target.value;
          setText(next);
          const parsed = yamlToWorkflow(next);
          if ("error" in parsed) {
            setError(parsed.line ? `line ${parsed.line}: ${parsed.error}` : parsed.error);
          } else {
            setError(undefined);
            onChange(parsed.workflow);
          }
        }}
      />
      <div className={error ? "yaml-status field-error" : "yaml-status muted"} data-testid="yaml-status">
        {error ?? "In step with the drawing."}
      </div>
    </div>
  );
}
