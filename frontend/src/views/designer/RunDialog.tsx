import { useState } from "react";
import type { Param } from "../../api/types";

/** Ask for the run's params before starting it: filled in with what the last run was
 * given, else the defaults; a required one left empty says so in words (Start waits for it). */
export function RunDialog(props: {
  params: Param[];
  previous?: Record<string, string>;
  busy: boolean;
  error?: string;
  onStart: (values: Record<string, string>) => void;
  onClose: () => void;
}) {
  const { params, previous = {}, busy, error, onStart, onClose } = props;
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      params.map((param) => {
        const fallback = param.default === undefined || param.default === null ? "" : String(param.default);
        return [param.name, previous[param.name] ?? fallback];
      }),
    ),
  );
  const missing = params.filter((param) => param.required && !values[param.name]?.trim());
  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-label="Run the workflow"
        data-testid="run-dialog"
        data-own-keys
        onSubmit={(event) => {
          event.preventDefault();
          if (missing.length === 0) {
            onStart(Object.fromEntries(Object.entries(values).filter(([, value]) => value !== "")));
          }
        }}
      >
        <h2>Run</h2>
        {params.length === 0 && <p className="muted">This workflow takes no params.</p>}
        {params.map((param) => {
          const needed = param.required && !values[param.name]?.trim();
          return (
            <label key={param.name} className={`field${needed ? " invalid" : ""}`}>
              <span className="field-label">
                {param.name}
                {param.required ? " *" : ""}
              </span>
              <input
                value={values[param.name] ?? ""}
                aria-invalid={needed ? true : undefined}
                data-testid={`run-param-${param.name}`}
                onChange={(event) => setValues({ ...values, [param.name]: event.target.value })}
              />
              {param.description && <span className="field-hint">{param.description}</span>}
              {needed && (
                <span className="field-rule" data-testid="field-rule">
                  Required: this run needs a value for {param.name} (it has no default).
                </span>
              )}
            </label>
          );
        })}
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || missing.length > 0} data-testid="run-start">
            Start run
          </button>
        </div>
      </form>
    </div>
  );
}
