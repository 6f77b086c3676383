import { describe, expect, it } from "vitest";
import { keepUnchanged } from "./reuse";

type Item = { id: string; label: string; measured?: number };

describe("keeping the canvas's objects across an edit", () => {
  const first: Item[] = [
    { id: "a", label: "lint" },
    { id: "b", label: "test" },
  ];
  const { signatures } = keepUnchanged(first, new Map(), new Map());
  // What the canvas holds now: the same items, with what it measured.
  const held = new Map<string, Item>(first.map((item) => [item.id, { ...item, measured: 40 }]));

  it("keeps the held object of an item whose content did not change", () => {
    const { items } = keepUnchanged([{ id: "a", label: "lint" }, { id: "b", label: "unit-test" }], signatures, held);
    expect(items[0]).toBe(held.get("a"));
    expect(items[1]).toEqual({ id: "b", label: "unit-test" });
  });

  it("takes the new object of an item that is new, or that the canvas does not hold", () => {
    const fresh = { id: "c", label: "deploy" };
    const { items } = keepUnchanged([fresh], signatures, held);
    expect(items[0]).toBe(fresh);
    const { items: unheld } = keepUnchanged(first, signatures, new Map());
    expect(unheld[0]).toBe(first[0]);
  });

  it("gives the signatures of what it was handed, for the next time", () => {
    const { signatures: next } = keepUnchanged([{ id: "a", label: "lint" }], signatures, held);
    expect([...next.keys()]).toEqual(["a"]);
    expect(next.get("a")).toBe(signatures.get("a"));
  });
});
