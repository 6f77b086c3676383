// The fan-out section's edits of a job, as pure functions: the matrix's axes in the order
// written (renamed in place, so the instance order does not move), include/exclude entries
// read and written as one line of `axis=value` pairs, and the typed values of shards,
// max_parallel and allowed_failures. A field emptied drops its key, and a matrix left with
// nothing drops `matrix`: definitions keep only what the user gave.
//
// Decisions: values are kept as text (the server compares them as text); a value typed that
// is not a number where one is wanted is kept as typed, so the server says what is wrong on
// Check; an entry's pair without `=` is a key with an empty value; a value holding a comma
// or an `=` cannot be written in these rows (the YAML tab can).

import type { Job } from "../../api/types";
import { valueText } from "../../graph";
import { setOrDrop } from "./optional";

export type EntryList = "include" | "exclude";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const matrixOf = (job: Job): Record<string, unknown> => (isRecord(job.matrix) ? job.matrix : {});

function withMatrix(job: Job, matrix: Record<string, unknown>): Job {
  return setOrDrop(job, "matrix", Object.keys(matrix).length ? matrix : undefined);
}

/** The axes as written: name and values (as text). */
export function axesOf(job: Job): { name: string; values: string[] }[] {
  return Object.entries(matrixOf(job))
    .filter(([name]) => name !== "include" && name !== "exclude")
    .map(([name, values]) => ({ name, values: Array.isArray(values) ? values.map(valueText) : [] }));
}

/** "3.11, 3.12" as the list it names: blanks between commas are not values. */
export function parseValues(text: string): string[] {
  return text.split(",").map((value) => value.trim()).filter(Boolean);
}

export const valuesText = (values: string[]) => values.join(", ");

export function setAxisValues(job: Job, name: string, values: string[]): Job {
  return withMatrix(job, { ...matrixOf(job), [name]: values });
}

/** The axis renamed where it stands; a blank name, or one another axis has, is not applied (undefined). */
export function renameAxis(job: Job, from: string, to: string): Job | undefined {
  const name = to.trim();
  const matrix = matrixOf(job);
  if (!name || name === "include" || name === "exclude" || (name !== from && name in matrix)) return undefined;
  return withMatrix(job, Object.fromEntries(Object.entries(matrix).map(([key, value]) => [key === from ? name : key, value])));
}

/** A new axis, after the others and before include/exclude (the order of axes is the order of instances). */
export function addAxis(job: Job, name: string, values: string[]): Job | undefined {
  const trimmed = name.trim();
  const matrix = matrixOf(job);
  if (!trimmed || trimmed === "include" || trimmed === "exclude" || trimmed in matrix) return undefined;
  const axes = Object.entries(matrix).filter(([key]) => key !== "include" && key !== "exclude");
  const lists = Object.entries(matrix).filter(([key]) => key === "include" || key === "exclude");
  return withMatrix(job, Object.fromEntries([...axes, [trimmed, values], ...lists]));
}

export function removeAxis(job: Job, name: string): Job {
  const matrix = { ...matrixOf(job) };
  delete matrix[name];
  return withMatrix(job, matrix);
}

/** An include or exclude list's entries, each as `axis=value, axis=value`. */
export function entriesOf(job: Job, list: EntryList): string[] {
  const entries = matrixOf(job)[list];
  return Array.isArray(entries) ? entries.map((entry) => entryText(isRecord(entry) ? entry : {})) : [];
}

export function entryText(entry: Record<string, unknown>): string {
  return Object.entries(entry)
    .map(([key, value]) => `${key}=${valueText(value)}`)
    .join(", ");
}

export function parseEntry(text: string): Record<string, string> {
  const entry: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (!pair.trim()) continue;
    const mark = pair.indexOf("=");
    const key = (mark < 0 ? pair : pair.slice(0, mark)).trim();
    if (key) entry[key] = mark < 0 ? "" : pair.slice(mark + 1).trim();
  }
  return entry;
}

function setEntries(job: Job, list: EntryList, entries: Record<string, string>[]): Job {
  const matrix = { ...matrixOf(job) };
  if (entries.length) matrix[list] = entries;
  else delete matrix[list];
  return withMatrix(job, matrix);
}

const entryList = (job: Job, list: EntryList) => entriesOf(job, list).map(parseEntry);

export function setEntry(job: Job, list: EntryList, index: number, text: string): Job {
  return setEntries(job, list, entryList(job, list).map((entry, at) => (at === index ? parseEntry(text) : entry)));
}

export function addEntry(job: Job, list: EntryList, text: string): Job {
  return setEntries(job, list, [...entryList(job, list), parseEntry(text)]);
}

export function removeEntry(job: Job, list: EntryList, index: number): Job {
  return setEntries(job, list, entryList(job, list).filter((_, at) => at !== index));
}

/** A whole number as a number; anything else typed kept as text for the server to judge; empty drops it. */
export function wholeOrText(value: string): number | string | undefined {
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** Sets a fan-out number field (shards, max_parallel, allowed_failures) as typed. */
export function setFanOutField(job: Job, key: "shards" | "max_parallel" | "allowed_failures", value: string): Job {
  const typed = wholeOrText(value);
  if (key === "allowed_failures") return setOrDrop(job, key, typed);
  return setOrDrop(job, key, typed as number | undefined);
}

/** fail_fast is on unless written false: checking it removes the key. */
export function setFailFast(job: Job, on: boolean): Job {
  return setOrDrop(job, "fail_fast", on ? undefined : false);
}
