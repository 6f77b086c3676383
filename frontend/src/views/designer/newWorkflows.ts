// The workflows this browser tab started drawing that the server does not have yet (issue 11,
// item 14): the designer opens them empty without asking the server for them, which would
// answer 404 and leave an error in the console. Kept in the tab's session storage, so a
// reload before the first save still knows; forgotten at the first save. An address typed
// or shared by hand is not marked: the designer asks the server, as it must.

const KEY = "containerops.newWorkflows";

const id = (namespace: string, name: string) => `${namespace}/${name}`;

function marked(): string[] {
  try {
    const kept: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? "[]");
    return Array.isArray(kept) ? kept.filter((item): item is string => typeof item === "string") : [];
  } catch {
    return [];
  }
}

function keep(ids: string[]): void {
  try {
    if (ids.length) sessionStorage.setItem(KEY, JSON.stringify(ids.slice(-50)));
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage refused: the designer asks the server, which answers 404, as before
  }
}

/** The new-workflow form's mark: `namespace/name` is to be drawn from nothing. */
export function markNewWorkflow(namespace: string, name: string): void {
  keep([...marked().filter((item) => item !== id(namespace, name)), id(namespace, name)]);
}

export function isNewWorkflow(namespace: string, name: string): boolean {
  return marked().includes(id(namespace, name));
}

export function forgetNewWorkflow(namespace: string, name: string): void {
  if (isNewWorkflow(namespace, name)) keep(marked().filter((item) => item !== id(namespace, name)));
}
