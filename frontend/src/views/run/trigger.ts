// What started a run, in words: the trigger the run recorded (README "Triggers", the
// `trigger.*` a job can read) turned into a headline ("webhook push by ana"), who or what
// started it, and its fields as name/value text pairs. Pure.
//
// A webhook's trigger is the whole JSON body a sender posted (a GitHub push carries dozens of
// nested fields): its top-level plain values are listed, the few nested ones a reader looks
// for first (the repository, the sender, the pusher, the head commit) are lifted out, and the
// whole body is kept, as JSON text, for a "full payload" view. Every value is text.

export interface TriggerView {
  /** The trigger's type (`api`, `webhook`, `schedule`, `s3`, `codecommit`), "" when none was recorded. */
  type: string;
  /** One line: "webhook push by ana", "schedule 0 3 * * *", "API". */
  headline: string;
  /** Who or what started it, when the trigger says. */
  who: string | null;
  /** The fields worth a row each, in the order a reader wants them. */
  fields: [string, string][];
  /** The whole recorded trigger as indented JSON, when it holds more than the fields show. */
  payload: string | null;
}

// Per type, the fields read first; the others follow in the order recorded.
const FIRST: Record<string, string[]> = {
  webhook: ["event", "ref", "after", "before", "action"],
  schedule: ["cron", "tick"],
  s3: ["bucket", "key", "size", "etag"],
  codecommit: ["repository", "branch", "commit", "event"],
};

// Nested fields of a GitHub-style body worth a row of their own: [row name, path].
const LIFTED: [string, string[]][] = [
  ["repository", ["repository", "full_name"]],
  ["sender", ["sender", "login"]],
  ["pusher", ["pusher", "name"]],
  ["head commit", ["head_commit", "id"]],
  ["head commit message", ["head_commit", "message"]],
];

const NAMES: Record<string, string> = { api: "API", webhook: "webhook", schedule: "schedule", s3: "S3", codecommit: "CodeCommit" };

type Plain = string | number | boolean | null;

function isPlain(value: unknown): value is Plain {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function text(value: Plain): string {
  return value === null ? "null" : String(value);
}

function at(value: unknown, path: string[]): unknown {
  let found = value;
  for (const key of path) {
    if (found === null || typeof found !== "object" || Array.isArray(found)) return undefined;
    found = (found as Record<string, unknown>)[key];
  }
  return found;
}

export function describeTrigger(trigger: Record<string, unknown> | null | undefined): TriggerView {
  const recorded = trigger ?? {};
  const type = typeof recorded.type === "string" ? recorded.type : "";
  if (!type) return { type: "", headline: "not recorded", who: null, fields: [], payload: null };

  const fields: [string, string][] = [];
  const listed = new Set(["type"]);
  for (const key of [...(FIRST[type] ?? []), ...Object.keys(recorded)]) {
    const value = recorded[key];
    if (listed.has(key) || !(key in recorded) || !isPlain(value)) continue;
    listed.add(key);
    if (value !== "") fields.push([key, text(value)]);
  }
  const nested = Object.values(recorded).some((value) => !isPlain(value));
  if (nested) {
    for (const [name, path] of LIFTED) {
      const value = at(recorded, path);
      if (isPlain(value) && value !== null && value !== "" && !listed.has(name)) fields.push([name, text(value)]);
    }
  }

  const who = whoStarted(type, recorded);
  return {
    type,
    headline: headlineOf(type, recorded, who),
    who,
    fields,
    payload: nested ? JSON.stringify(recorded, null, 2) : null,
  };
}

function whoStarted(type: string, trigger: Record<string, unknown>): string | null {
  if (type === "api") return "the API (the designer, the CLI or a script)";
  if (type === "schedule") return "the schedule";
  for (const path of [["sender", "login"], ["pusher", "name"], ["sender"], ["user"]]) {
    const value = at(trigger, path);
    if (typeof value === "string" && value) return value;
  }
  return null;
}

function headlineOf(type: string, trigger: Record<string, unknown>, who: string | null): string {
  const name = NAMES[type] ?? type;
  const value = (key: string) => (isPlain(trigger[key]) && trigger[key] !== "" && trigger[key] !== null ? String(trigger[key]) : "");
  switch (type) {
    case "api":
      return "API";
    case "webhook":
      return [name, value("event"), who ? `by ${who}` : ""].filter(Boolean).join(" ");
    case "schedule":
      return [name, value("cron")].filter(Boolean).join(" ");
    case "s3":
      return [name, [value("bucket"), value("key")].filter(Boolean).join("/")].filter(Boolean).join(" ");
    case "codecommit":
      return [name, [value("repository"), value("branch")].filter(Boolean).join(" ")].filter(Boolean).join(" ");
    default:
      return name;
  }
}
