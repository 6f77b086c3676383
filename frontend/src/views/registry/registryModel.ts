// The registry views' logic, free of React and of the network: which components a search
// shows, the publish form as plain data and its conversion to a component definition, and
// where each problem the server reports belongs in that form.
import type { ComponentDefinition, ComponentEntry, InputSpec, OutputSpec, Problem, Resources, Scalar } from "../../api/types";

export type ValueType = "string" | "number" | "boolean";
export type DataFormat = "pairs" | "json";

const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// --- browsing ----------------------------------------------------------------------------

/**
 * The newest version of each component, in the order the names first appear. The server
 * lists a namespace's entries by name and then by version number, oldest first (the store
 * contract), so the newest version of a name is its last entry.
 */
export function latestOfEach(entries: readonly ComponentEntry[]): ComponentEntry[] {
  const newest = new Map<string, ComponentEntry>();
  for (const entry of entries) newest.set(`${entry.namespace}/${entry.name}`, entry);
  return [...newest.values()];
}

export function descriptionOf(entry: ComponentEntry): string {
  return entry.definition.metadata.description ?? "";
}

/** The entries whose name or description holds every word of the query (any case). */
export function searchComponents(entries: readonly ComponentEntry[], query: string): ComponentEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...entries];
  return entries.filter((entry) => {
    const text = `${entry.name} ${descriptionOf(entry)}`.toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** Every version of a component, newest first (the server answers oldest first). */
export function newestFirst(versions: readonly ComponentEntry[]): ComponentEntry[] {
  return [...versions].reverse();
}

/** The version a page shows: the one asked for, or the newest when none is. */
export function shownVersion(versions: readonly ComponentEntry[], asked?: string): ComponentEntry | undefined {
  if (asked !== undefined) return versions.find((entry) => entry.version === asked);
  return versions[versions.length - 1];
}

// --- the publish form --------------------------------------------------------------------

export interface InputRow {
  key: string; // React's key for the row; never sent
  name: string;
  type: ValueType;
  required: boolean;
  default: string;
  description: string;
}

export interface OutputRow {
  key: string;
  name: string;
  type: ValueType;
  description: string;
}

/** The form exactly as typed: every value a string (or a choice), converted on submit. */
export interface PublishForm {
  namespace: string;
  name: string;
  version: string;
  description: string;
  image: string;
  command: string; // one argument per line
  dataFormat: DataFormat;
  inputs: InputRow[];
  outputs: OutputRow[];
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
  timeout: string;
  strictResult: boolean;
}

export type NewKey = () => string;

const randomKey: NewKey = () => crypto.randomUUID();

export function emptyForm(namespace = ""): PublishForm {
  return {
    namespace,
    name: "",
    version: "",
    description: "",
    image: "",
    command: "",
    dataFormat: "pairs",
    inputs: [],
    outputs: [],
    cpuRequest: "",
    cpuLimit: "",
    memoryRequest: "",
    memoryLimit: "",
    timeout: "",
    strictResult: false,
  };
}

export function emptyInput(newKey: NewKey = randomKey): InputRow {
  return { key: newKey(), name: "", type: "string", required: false, default: "", description: "" };
}

export function emptyOutput(newKey: NewKey = randomKey): OutputRow {
  return { key: newKey(), name: "", type: "string", description: "" };
}

/**
 * The version to suggest after `version`: the release of a pre-release ("1.0.0-rc1" →
 * "1.0.0"), otherwise the last number plus one ("1.2.0" → "1.2.1", "2" → "3"). Empty when
 * the version is not numbered that way, so the user chooses.
 */
export function suggestNextVersion(version: string): string {
  const match = /^(\d+(?:\.\d+){0,2})(?:([-+])[0-9A-Za-z.-]+)?$/.exec(version.trim());
  if (!match?.[1]) return "";
  const core = match[1];
  if (match[2] === "-") return core;
  const numbers = core.split(".").map(Number);
  numbers[numbers.length - 1] = (numbers[numbers.length - 1] ?? 0) + 1;
  return numbers.join(".");
}

const text = (value: Scalar | null | undefined): string => (value === null || value === undefined ? "" : String(value));

/** A form pre-filled from a published version, for publishing the next one. */
export function formFromDefinition(definition: ComponentDefinition, newKey: NewKey = randomKey): PublishForm {
  const { metadata, spec } = definition;
  const resources = spec.resources ?? {};
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    version: suggestNextVersion(metadata.version),
    description: metadata.description ?? "",
    image: spec.image,
    command: (spec.command ?? []).join("\n"),
    dataFormat: spec.data_format ?? "pairs",
    inputs: (spec.inputs ?? []).map((input) => ({
      key: newKey(),
      name: input.name,
      type: input.type ?? "string",
      required: input.required ?? false,
      default: text(input.default),
      description: input.description ?? "",
    })),
    outputs: (spec.outputs ?? []).map((output) => ({
      key: newKey(),
      name: output.name,
      type: output.type ?? "string",
      description: output.description ?? "",
    })),
    cpuRequest: text(resources.cpu_request),
    cpuLimit: text(resources.cpu_limit),
    memoryRequest: resources.memory_request ?? "",
    memoryLimit: resources.memory_limit ?? "",
    timeout: text(spec.timeout),
    strictResult: spec.strict_result ?? false,
  };
}

export interface Built {
  definition: ComponentDefinition;
  /** What the document cannot say as typed (a CPU that is not a number…), with the paths
   *  the server would use; the form is not sent while there are any. */
  problems: Problem[];
}

/**
 * The definition the form describes. Every row is sent, blank or not, so that a problem the
 * server reports at `spec.inputs[2]` is the form's third input row. Empty optional fields
 * are left out, so the server's defaults apply.
 */
export function buildDefinition(form: PublishForm): Built {
  const problems: Problem[] = [];
  const namespace = form.namespace.trim();
  if (!namespace) problems.push({ path: "metadata.namespace", message: "a namespace is required" });
  else if (!SLUG.test(namespace))
    problems.push({ path: "metadata.namespace", message: "a namespace is lower-case letters, digits and '-'" });

  const metadata: ComponentDefinition["metadata"] = {
    namespace,
    name: form.name.trim(),
    version: form.version.trim(),
  };
  if (form.description.trim()) metadata.description = form.description.trim();

  const spec: ComponentDefinition["spec"] = { image: form.image.trim(), data_format: form.dataFormat };
  const command = form.command.split("\n").map((line) => line.trim()).filter(Boolean);
  if (command.length) spec.command = command;
  if (form.inputs.length) spec.inputs = form.inputs.map((row, index) => inputSpec(row, index, problems));
  if (form.outputs.length) spec.outputs = form.outputs.map(outputSpec);
  const resources = resourcesOf(form, problems);
  if (Object.keys(resources).length) spec.resources = resources;
  const timeout = form.timeout.trim();
  if (timeout) spec.timeout = /^\d+(\.\d+)?$/.test(timeout) ? Number(timeout) : timeout; // bare number: seconds
  if (form.strictResult) spec.strict_result = true;

  return { definition: { apiVersion: "containerops/v1", kind: "Component", metadata, spec }, problems };
}

function inputSpec(row: InputRow, index: number, problems: Problem[]): InputSpec {
  const input: InputSpec = { name: row.name.trim(), type: row.type, required: row.required };
  if (row.default !== "") {
    const value = scalarOf(row.default, row.type);
    if (value === undefined)
      problems.push({ path: `spec.inputs[${index}].default`, message: `the default of a ${row.type} input must be a ${row.type}` });
    else input.default = value;
  }
  if (row.description.trim()) input.description = row.description.trim();
  return input;
}

function outputSpec(row: OutputRow): OutputSpec {
  const output: OutputSpec = { name: row.name.trim(), type: row.type };
  if (row.description.trim()) output.description = row.description.trim();
  return output;
}

/** A default as its input's type: undefined when the text is not one. */
export function scalarOf(value: string, type: ValueType): Scalar | undefined {
  switch (type) {
    case "string":
      return value;
    case "number": {
      const number = Number(value.trim());
      return value.trim() !== "" && Number.isFinite(number) ? number : undefined;
    }
    case "boolean": {
      const word = value.trim().toLowerCase();
      return word === "true" ? true : word === "false" ? false : undefined;
    }
  }
}

function resourcesOf(form: PublishForm, problems: Problem[]): Resources {
  const resources: Resources = {};
  const cpu = (typed: string, key: "cpu_request" | "cpu_limit") => {
    if (!typed.trim()) return;
    const number = Number(typed.trim());
    if (Number.isFinite(number)) resources[key] = number;
    else problems.push({ path: `spec.resources.${key}`, message: "CPU is a number of cores, like 0.5 or 2" });
  };
  cpu(form.cpuRequest, "cpu_request");
  cpu(form.cpuLimit, "cpu_limit");
  if (form.memoryRequest.trim()) resources.memory_request = form.memoryRequest.trim();
  if (form.memoryLimit.trim()) resources.memory_limit = form.memoryLimit.trim();
  return resources;
}

// --- problems → fields -------------------------------------------------------------------

const METADATA_FIELDS = new Set(["namespace", "name", "version", "description"]);
const SPEC_FIELDS = new Set(["image", "command", "data_format", "timeout", "strict_result"]);
const RESOURCE_FIELDS = new Set(["cpu_request", "cpu_limit", "memory_request", "memory_limit"]);
const INPUT_FIELDS = new Set(["name", "type", "required", "default", "description"]);
const OUTPUT_FIELDS = new Set(["name", "type", "description"]);

/**
 * The form field a problem is about, as a key like `version`, `inputs[0].name`,
 * `resources.cpu_request`, a row (`outputs[1]`) or a section (`inputs`, `resources`); or
 * undefined when the form has no place for it (`kind`, an unknown field of `spec`…).
 * "required field 'x' is missing" at a path is a problem of the field x under it.
 */
export function fieldOfProblem(problem: Problem): string | undefined {
  const missing = /required field '([^']+)' is missing/.exec(problem.message);
  const path = missing ? [problem.path, missing[1]].filter(Boolean).join(".") : problem.path;

  const meta = /^metadata\.([a-z_]+)$/.exec(path);
  if (meta?.[1] && METADATA_FIELDS.has(meta[1])) return meta[1];

  const spec = /^spec\.([a-z_]+)(.*)$/.exec(path);
  if (!spec?.[1]) return undefined;
  const [, field, rest = ""] = spec;
  if (SPEC_FIELDS.has(field)) return field;
  if (field === "resources") {
    const sub = /^\.([a-z_]+)/.exec(rest)?.[1];
    return sub && RESOURCE_FIELDS.has(sub) ? `resources.${sub}` : "resources";
  }
  if (field === "inputs" || field === "outputs") {
    const row = /^\[(\d+)\](?:\.([a-z_]+))?/.exec(rest);
    if (!row) return field;
    const known = field === "inputs" ? INPUT_FIELDS : OUTPUT_FIELDS;
    const sub = row[2];
    return sub && known.has(sub) ? `${field}[${row[1]}].${sub}` : `${field}[${row[1]}]`;
  }
  return undefined;
}

/** Every field key the form shows, each row's fields included. */
export function fieldsOf(form: PublishForm): Set<string> {
  const fields = new Set([...METADATA_FIELDS, ...SPEC_FIELDS, "inputs", "outputs", "resources"]);
  for (const sub of RESOURCE_FIELDS) fields.add(`resources.${sub}`);
  form.inputs.forEach((_row, index) => {
    fields.add(`inputs[${index}]`);
    for (const sub of INPUT_FIELDS) fields.add(`inputs[${index}].${sub}`);
  });
  form.outputs.forEach((_row, index) => {
    fields.add(`outputs[${index}]`);
    for (const sub of OUTPUT_FIELDS) fields.add(`outputs[${index}].${sub}`);
  });
  return fields;
}

export interface PlacedProblems {
  byField: Map<string, string[]>;
  unplaced: Problem[];
}

/** Problems next to the fields they are about; the rest in a list of their own. */
export function placeProblems(problems: readonly Problem[], form: PublishForm): PlacedProblems {
  const shown = fieldsOf(form);
  const byField = new Map<string, string[]>();
  const unplaced: Problem[] = [];
  for (const problem of problems) {
    const field = fieldOfProblem(problem);
    if (field !== undefined && shown.has(field)) byField.set(field, [...(byField.get(field) ?? []), problem.message]);
    else unplaced.push(problem);
  }
  return { byField, unplaced };
}

/** The problems left once the user changed `field`: what they said about it may be fixed. */
export function withoutProblemsOf(problems: readonly Problem[], field: string): Problem[] {
  return problems.filter((problem) => fieldOfProblem(problem) !== field);
}

/** The problems left once a row of `section` is removed: the other rows' indexes moved. */
export function withoutProblemsIn(problems: readonly Problem[], section: "inputs" | "outputs"): Problem[] {
  return problems.filter((problem) => !fieldOfProblem(problem)?.startsWith(section));
}

// --- handing a version to the publish form -----------------------------------------------

/** Where "Publish a new version" leaves the shown definition for the publish form. */
export const PUBLISH_DRAFT_KEY = "containerops.publish-draft";

export function encodeDraft(definition: ComponentDefinition): string {
  return JSON.stringify(definition);
}

/** The definition a draft holds, or undefined when there is none or it is not one. */
export function decodeDraft(saved: string | null): ComponentDefinition | undefined {
  if (!saved) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(saved);
  } catch {
    return undefined;
  }
  if (typeof document !== "object" || document === null) return undefined;
  const { metadata, spec } = document as { metadata?: unknown; spec?: unknown };
  if (typeof metadata !== "object" || metadata === null || typeof spec !== "object" || spec === null) return undefined;
  const { namespace, name, version } = metadata as Record<string, unknown>;
  if (typeof namespace !== "string" || typeof name !== "string" || typeof version !== "string") return undefined;
  if (typeof (spec as Record<string, unknown>).image !== "string") return undefined;
  return document as ComponentDefinition;
}
