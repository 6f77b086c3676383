/** A copy with the field set, or removed when emptied: definitions keep only what the user gave. */
export function setOrDrop<T extends object, K extends keyof T>(record: T, key: K, value: T[K] | undefined | ""): T {
  const copy = { ...record };
  if (value === undefined || value === "") delete copy[key];
  else copy[key] = value as T[K];
  return copy;
}
