// Which two versions the versions view compares, from the address and the stored list.
import type { WorkflowVersionEntry } from "../../api/types";

/**
 * `[older, newer]`: `to` when it is a stored version, else the latest; `from` when it is a
 * stored version, else the one before the newer (the newer itself when it is the first).
 * Null when there is no version at all. `versions` are newest first, as the server lists them.
 */
export function comparedPair(versions: WorkflowVersionEntry[], from?: number, to?: number): [number, number] | null {
  const numbers = versions.map((entry) => entry.version); // newest first
  if (numbers.length === 0) return null;
  const newer = to !== undefined && numbers.includes(to) ? to : (numbers[0] ?? 1);
  const below = numbers.find((number) => number < newer);
  const older = from !== undefined && numbers.includes(from) ? from : (below ?? newer);
  return [older, newer];
}

