// The YAML tab of a stored version opened read-only: the server's export of that version
// (the same text the versions view compares), numbered, as plain text that can be read,
// selected and copied but not changed.
import { api } from "../../api/client";
import { splitLines } from "./lineDiff";
import { ErrorNote } from "../../ui/ErrorNote";
import { useLoad } from "../../ui/useLoad";
import "./versions.css";

export function StoredYaml({ namespace, name, version }: { namespace: string; name: string; version: number }) {
  const yaml = useLoad((_signal) => api.workflowYaml(namespace, name, version), [namespace, name, version]);
  return (
    <div className="yaml-tab stored-yaml">
      <ErrorNote error={yaml.error} />
      {yaml.data === undefined ? (
        !yaml.error && <p className="muted">Loading…</p>
      ) : (
        <ol className="yaml-lines" aria-label={`Workflow YAML, version ${version} (read-only)`} data-testid="yaml-readonly">
          {splitLines(yaml.data).map((line, index) => (
            <li key={index}>{line || " "}</li>
          ))}
        </ol>
      )}
      <div className="yaml-status muted" data-testid="yaml-status">
        Version {version}, read-only.
      </div>
    </div>
  );
}
