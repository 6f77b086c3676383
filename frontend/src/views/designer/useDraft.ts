import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, api } from "../../api/client";
import type { Problem, WorkflowDefinition } from "../../api/types";
import { emptyWorkflow } from "../../graph";

export type SaveOutcome =
  | { kind: "saved"; version: number; webhookSecret?: string }
  | { kind: "conflict"; theirs: number }
  | { kind: "invalid"; problems: Problem[] }
  | { kind: "failed"; error: Error };

export interface Draft {
  workflow: WorkflowDefinition | undefined;
  savedVersion: number; // 0: never saved
  dirty: boolean;
  loadError: Error | undefined;
  problems: Problem[];
  checked: boolean; // problems come from a check of the current drawing
  edit: (change: (workflow: WorkflowDefinition) => WorkflowDefinition) => void;
  replace: (workflow: WorkflowDefinition) => void;
  check: () => Promise<Problem[]>;
  save: (overwrite?: boolean) => Promise<SaveOutcome>;
  loadTheirs: () => Promise<void>;
}

/** The workflow being drawn: what the server has, what the user changed, what is wrong. */
export function useDraft(namespace: string, name: string): Draft {
  const [workflow, setWorkflow] = useState<WorkflowDefinition>();
  const [saved, setSaved] = useState<{ version: number; text: string }>({ version: 0, text: "" });
  const [loadError, setLoadError] = useState<Error>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState(false);

  const load = useCallback(async () => {
    try {
      const found = await api.workflow(namespace, name);
      setWorkflow(found.definition);
      setSaved({ version: found.version, text: JSON.stringify(found.definition) });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        const fresh = emptyWorkflow(namespace, name);
        setWorkflow(fresh);
        setSaved({ version: 0, text: "" });
      } else {
        setLoadError(error as Error);
      }
    }
    setProblems([]);
    setChecked(false);
  }, [namespace, name]);

  useEffect(() => {
    setWorkflow(undefined);
    setLoadError(undefined);
    void load();
  }, [load]);

  const edit = useCallback((change: (current: WorkflowDefinition) => WorkflowDefinition) => {
    setWorkflow((current) => (current ? change(current) : current));
    setChecked(false);
  }, []);

  const check = useCallback(async () => {
    if (!workflow) return [];
    const result = await api.checkWorkflow(namespace, workflow);
    setProblems(result.problems);
    setChecked(true);
    return result.problems;
  }, [namespace, workflow]);

  const save = useCallback(
    async (overwrite = false): Promise<SaveOutcome> => {
      if (!workflow) return { kind: "failed", error: new Error("nothing to save") };
      try {
        let expected = saved.version;
        if (overwrite) expected = (await api.workflow(namespace, name)).version;
        const answer =
          expected === 0
            ? await api.createWorkflow(namespace, workflow)
            : await api.saveWorkflow(namespace, name, expected, workflow);
        setSaved({ version: answer.version, text: JSON.stringify(workflow) });
        setProblems([]);
        setChecked(true);
        const secret = "webhook_secret" in answer ? (answer.webhook_secret as string) : undefined;
        return { kind: "saved", version: answer.version, webhookSecret: secret };
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          const theirs = await api.workflow(namespace, name).then((found) => found.version, () => saved.version);
          return { kind: "conflict", theirs };
        }
        if (error instanceof ApiError && error.status === 400 && error.problems.length) {
          setProblems(error.problems);
          setChecked(true);
          return { kind: "invalid", problems: error.problems };
        }
        return { kind: "failed", error: error as Error };
      }
    },
    [namespace, name, saved.version, workflow],
  );

  const dirty = useMemo(() => Boolean(workflow) && JSON.stringify(workflow) !== saved.text, [workflow, saved.text]);

  return {
    workflow,
    savedVersion: saved.version,
    dirty,
    loadError,
    problems,
    checked,
    edit,
    replace: (next) => edit(() => next),
    check,
    save,
    loadTheirs: load,
  };
}
