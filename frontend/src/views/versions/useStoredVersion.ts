// One stored version of a workflow as the designer's Draft, for opening it read-only
// (`#/designer/<ns>/<name>?version=N`): it loads that version, Check checks it, and every
// edit, undo and save does nothing, so the designer shows it exactly as it was saved. A
// version of a deleted workflow still opens (the server keeps every version readable by
// number, for the runs pinned to it).
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import type { Problem, WorkflowDefinition, WorkflowVersion } from "../../api/types";
import type { Draft, SaveOutcome } from "../designer/useDraft";

const READ_ONLY: SaveOutcome = { kind: "failed", error: new Error("a stored version is read-only") };

export interface StoredVersion {
  draft: Draft;
  /** What the server answered for the version: its number, when it was saved. */
  stored: WorkflowVersion | undefined;
}

export function useStoredVersion(namespace: string, name: string, version: number): StoredVersion {
  const [stored, setStored] = useState<WorkflowVersion>();
  const [loadError, setLoadError] = useState<Error>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    let current = true;
    setStored(undefined);
    setLoadError(undefined);
    api.workflow(namespace, name, version).then(
      (found) => current && setStored(found),
      (error: Error) => current && setLoadError(error),
    );
    return () => {
      current = false;
    };
  }, [namespace, name, version]);

  const workflow = stored?.definition;
  const check = useCallback(async () => {
    if (!workflow) return [];
    const result = await api.checkWorkflow(namespace, workflow);
    setProblems(result.problems);
    setChecked(true);
    return result.problems;
  }, [namespace, workflow]);

  const nothing = useCallback(() => undefined, []);
  const noEdit = useCallback((_change?: unknown, _typing?: unknown) => undefined, []);
  const noSave = useCallback(async () => READ_ONLY, []);

  const draft: Draft = {
    workflow,
    savedVersion: stored?.version ?? version,
    dirty: false,
    loadError,
    problems,
    checked,
    revision: 0,
    canUndo: false,
    canRedo: false,
    edit: noEdit as Draft["edit"],
    replace: noEdit as (workflow: WorkflowDefinition) => void,
    seal: nothing,
    undo: nothing,
    redo: nothing,
    check,
    save: noSave,
    loadTheirs: async () => undefined,
  };
  return { draft, stored };
}
