import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, api } from "../../api/client";
import type { Problem, WorkflowDefinition } from "../../api/types";
import { emptyWorkflow } from "../../graph";
import { canRedo, canUndo, record, redo, seal as historySeal, startHistory, undo, type History } from "./history";
import { forgetNewWorkflow, isNewWorkflow } from "./newWorkflows";

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
  revision: number; // bumped when the drawing is replaced from outside the fields: undo, redo, theirs
  canUndo: boolean;
  canRedo: boolean;
  /** An edit; edits with the same `typing` key in a row (one text field's keystrokes) are one undo step. */
  edit: (change: (workflow: WorkflowDefinition) => WorkflowDefinition, typing?: unknown) => void;
  replace: (workflow: WorkflowDefinition, typing?: unknown) => void;
  /** Ends a typing session: the next edit is a step of its own. */
  seal: () => void;
  /** Undoes the last step; gives the drawing it goes back to, if any. */
  undo: () => WorkflowDefinition | undefined;
  redo: () => WorkflowDefinition | undefined;
  check: () => Promise<Problem[]>;
  save: (overwrite?: boolean) => Promise<SaveOutcome>;
  /** Replaces the drawing with the latest saved version, as a step that undo takes back. */
  loadTheirs: () => Promise<void>;
}

const sameDefinition = (a: WorkflowDefinition, b: WorkflowDefinition) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The workflow being drawn: what the server has, what the user changed (with its undo
 * history, see history.ts), what is wrong. Every edit counts at once: Save and Check send
 * the present drawing, whatever field still has the focus.
 */
export function useDraft(namespace: string, name: string): Draft {
  const [history, setHistory] = useState<History<WorkflowDefinition>>();
  const workflow = history?.present;
  const [saved, setSaved] = useState<{ version: number; text: string }>({ version: 0, text: "" });
  const [loadError, setLoadError] = useState<Error>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState(false);

  const load = useCallback(
    async (mine: "reset" | "keep to undo") => {
      // Drawn from nothing in this tab (the new-workflow form): nothing to fetch yet.
      if (mine === "reset" && isNewWorkflow(namespace, name)) {
        setHistory((current) => startHistory(emptyWorkflow(namespace, name), (current?.revision ?? 0) + 1));
        setSaved({ version: 0, text: "" });
        setProblems([]);
        setChecked(false);
        return;
      }
      try {
        const found = await api.workflow(namespace, name);
        setHistory((current) =>
          current && mine === "keep to undo"
            ? { ...record(current, found.definition, undefined, sameDefinition), revision: current.revision + 1 }
            : startHistory(found.definition, (current?.revision ?? 0) + 1),
        );
        setSaved({ version: found.version, text: JSON.stringify(found.definition) });
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          setHistory(startHistory(emptyWorkflow(namespace, name)));
          setSaved({ version: 0, text: "" });
        } else {
          setLoadError(error as Error);
        }
      }
      setProblems([]);
      setChecked(false);
    },
    [namespace, name],
  );

  useEffect(() => {
    setHistory(undefined);
    setLoadError(undefined);
    void load("reset");
  }, [load]);

  const edit = useCallback((change: (current: WorkflowDefinition) => WorkflowDefinition, typing?: unknown) => {
    setHistory((current) => current && record(current, change(current.present), typing, sameDefinition));
    setChecked(false);
  }, []);

  const seal = useCallback(() => setHistory((current) => current && historySeal(current)), []);

  const undoStep = useCallback(() => {
    setHistory((current) => current && undo(current));
    setChecked(false);
    return history?.past.at(-1);
  }, [history]);

  const redoStep = useCallback(() => {
    setHistory((current) => current && redo(current));
    setChecked(false);
    return history?.future[0];
  }, [history]);

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
        forgetNewWorkflow(namespace, name);
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
    revision: history?.revision ?? 0,
    canUndo: history !== undefined && canUndo(history),
    canRedo: history !== undefined && canRedo(history),
    edit,
    replace: (next, typing) => edit(() => next, typing),
    seal,
    undo: undoStep,
    redo: redoStep,
    check,
    save,
    loadTheirs: () => load("keep to undo"),
  };
}
