// The namespace the user works in when an address names none: the last one used.
const KEY = "containerops.namespace";

/** The last namespace used, if it is still known (any saved one when `known` is empty). */
export function rememberedNamespace(known: string[]): string | undefined {
  const saved = localStorage.getItem(KEY);
  if (saved && (known.length === 0 || known.includes(saved))) return saved;
  return known.includes("examples") ? "examples" : known[0];
}

export function rememberNamespace(namespace: string): void {
  localStorage.setItem(KEY, namespace);
}
