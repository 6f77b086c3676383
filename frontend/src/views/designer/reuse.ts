// Keeping the canvas's objects when the drawing changes around them. React Flow recomputes
// a node (and measures it again) whenever it is handed a new object for it; after an edit
// every node is a new object, though most are unchanged, and on a 500-job workflow each
// keystroke in a panel then took a few hundred milliseconds. Here a node or edge whose
// content (its signature) is the same as last time keeps the object the canvas holds now,
// with what React Flow learnt about it (its measured size).

export type Signatures = ReadonlyMap<string, string>;

const signatureOf = (item: object) => JSON.stringify(item);

/**
 * `next`, with each item whose signature matches `previous` replaced by the object `current`
 * holds for that id; and the signatures of `next`, to pass as `previous` the next time.
 */
export function keepUnchanged<T extends { id: string }>(
  next: readonly T[],
  previous: Signatures,
  current: ReadonlyMap<string, T>,
): { items: T[]; signatures: Map<string, string> } {
  const signatures = new Map<string, string>();
  const items = next.map((item) => {
    const signature = signatureOf(item);
    signatures.set(item.id, signature);
    const kept = previous.get(item.id) === signature ? current.get(item.id) : undefined;
    return kept ?? item;
  });
  return { items, signatures };
}
