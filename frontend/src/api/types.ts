// The API's documents, as `/api/openapi.json` describes them. Definitions are kept as the
// plain documents users write (YAML or JSON): the designer edits them and sends them back.

export type Scalar = string | number | boolean;

export interface Resources {
  cpu_request?: number;
  cpu_limit?: number;
  memory_request?: string;
  memory_limit?: string;
}

export interface InputSpec {
  name: string;
  type?: "string" | "number" | "boolean";
  required?: boolean;
  default?: Scalar | null;
  description?: string;
}

export interface OutputSpec {
  name: string;
  type?: "string" | "number" | "boolean";
  description?: string;
}

export interface ComponentDefinition {
  apiVersion?: "containerops/v1";
  kind?: "Component";
  metadata: { namespace: string; name: string; version: string; description?: string };
  spec: {
    image: string;
    command?: string[] | null;
    data_format?: "pairs" | "json";
    inputs?: InputSpec[];
    outputs?: OutputSpec[];
    resources?: Resources;
    timeout?: string | number | null;
    strict_result?: boolean;
  };
}

export interface ComponentEntry {
  namespace: string;
  name: string;
  version: string;
  deprecated: boolean;
  definition: ComponentDefinition;
}

export interface Retries {
  limit?: number;
  backoff?: string | number;
}

export interface Mount {
  source: string;
  target: string;
  read_only?: boolean;
}

/** Where a job runs on AWS (`chalicelib/domain/platforms.py`); unset: the workflow's, else the deployment's. */
export type Platform = "fargate" | "eks";

export interface Job {
  name: string;
  component?: string;
  image?: string;
  command?: string[];
  data?: Record<string, Scalar>;
  env?: Record<string, string>;
  outputs?: string[];
  if?: string;
  retries?: Retries;
  timeout?: string | number;
  continue_on_error?: boolean;
  resources?: Resources;
  mounts?: Mount[];
  platform?: Platform; // wins over the workflow's
  // Fan-out (README "Fan-out"): a job with `matrix` or `shards` runs as many instances.
  shards?: number;
  /** Axes (name: values), with `include` and `exclude` lists of combinations; held as written. */
  matrix?: Record<string, unknown>;
  max_parallel?: number;
  fail_fast?: boolean;
  /** A count, or a percentage of the instances written "10%". */
  allowed_failures?: number | string;
}

export interface Action {
  name: string;
  jobs: Job[];
}

export interface Stage {
  name: string;
  sequencing?: "parallel" | "sequence";
  actions: Action[];
}

export interface Param {
  name: string;
  default?: Scalar | null;
  required?: boolean;
  description?: string;
}

export type Trigger =
  | { type: "api" }
  | { type: "webhook" }
  | { type: "schedule"; cron: string }
  | { type: "s3"; bucket: string; prefix?: string; suffix?: string }
  | {
      type: "codecommit";
      repository: string;
      branches?: string[];
      events?: ("referenceCreated" | "referenceUpdated")[];
    };

export interface WorkflowDefinition {
  apiVersion?: "containerops/v1";
  kind?: "Workflow";
  metadata: { namespace: string; name: string; description?: string };
  spec: {
    params?: Param[];
    env?: Record<string, string>;
    timeout?: string | number;
    concurrency?: number;
    triggers?: Trigger[];
    platform?: Platform; // for every job that names none
    stages: Stage[];
  };
}

export interface WorkflowSummary {
  namespace: string;
  name: string;
  version: number;
  enabled: boolean;
  description?: string;
  /** In lists: the workflow's newest run, null when it never ran. */
  last_run?: LastRun | null;
}

export interface LastRun {
  id: string;
  status: RunStatus;
  reason: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface WorkflowVersion {
  namespace: string;
  name: string;
  version: number;
  enabled?: boolean;
  created_at?: number;
  definition: WorkflowDefinition;
}

/** One line of a workflow's version list (GET …/workflows/<name>/versions), newest first. */
export interface WorkflowVersionEntry {
  version: number;
  created_at: number;
  latest: boolean;
}

export interface WorkflowVersionList {
  namespace: string;
  name: string;
  versions: WorkflowVersionEntry[];
}

export interface Problem {
  path: string;
  message: string;
}

export interface CheckResult {
  valid: boolean;
  problems: Problem[];
}

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type JobStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "skipped" | "reused";

export interface RunSummary {
  id: string;
  workflow: string; // namespace/name
  workflow_version: number;
  status: RunStatus;
  reason?: string;
  params?: Record<string, string>;
  rerun_of?: string | null;
  /** For a re-run, what it ran again (null for a first run; for an older re-run, from failure). */
  rerun_scope?: RerunScope | null;
  /** A cancel was asked for: while the run still runs, its containers are being stopped. */
  cancel_requested?: boolean;
  created_at?: number;
  started_at?: number | null;
  finished_at?: number | null;
}

export interface AttemptDocument {
  number: number;
  status: string;
  exit_code: number | null;
  reason: string;
  started_at: number | null;
  finished_at: number | null;
  log_truncated: boolean;
}

/** Where a reused job did its work: the run and the attempt whose outputs it carries. */
export interface ReuseOrigin {
  run: string;
  attempt: number;
}

export interface JobDocument {
  name: string;
  stage: number;
  action: number;
  status: JobStatus;
  reason: string;
  attempts: number;
  exit_code: number | null;
  outputs: Record<string, string>;
  started_at: number | null;
  finished_at: number | null;
  /** For a reused job, where its work was done (null when the records no longer say). */
  reused_from?: ReuseOrigin | null;
  attempt_history: AttemptDocument[];
  /** A fan-out job: how many instances, and how many are in each state (never the instances). */
  fan_out?: FanOutSummary;
}

/** The states an instance of a fan-out job is in. */
export type InstanceState = "succeeded" | "failed" | "running" | "pending" | "cancelled" | "skipped" | "reused";

/** What the counts count: the states, and `not_started` (never started by a group that has ended). */
export type CountedState = InstanceState | "not_started";

export interface FanOutSummary {
  instances: number;
  counts: Partial<Record<CountedState, number>>;
  max_parallel?: number | null;
}

/** One instance of a fan-out job (`GET …/jobs/{job}/instances`). */
export interface InstanceDocument {
  index: number;
  /** Its job name in the run: `test.3`; its attempts and logs are under it. */
  key: string;
  values: Record<string, string>;
  shard: number | null;
  status: InstanceState;
  reason: string;
  /** How many attempts it made. */
  attempts: number;
  exit_code: number | null;
  started_at: number | null;
  finished_at: number | null;
  outputs: Record<string, string> | null;
  /** Given by servers that list each attempt; otherwise attempts 1..`attempts` are shown. */
  attempt_history?: AttemptDocument[];
}

export interface InstancePage {
  instances: InstanceDocument[];
  next_cursor: string | null;
}

export interface RunDocument extends RunSummary {
  /** What started the run, as recorded (README "Triggers": `trigger.*`): `type` and its fields. */
  trigger?: Record<string, unknown>;
  jobs: JobDocument[];
}

/**
 * What a re-run runs again: the failed and cancelled jobs and what follows them (`failed`),
 * every job (`all`), or the jobs named and every job fed by their outputs (`jobs`).
 */
export type RerunScope = { scope: "failed" } | { scope: "all" } | { scope: "jobs"; jobs: string[] };

export interface RunPage {
  runs: RunSummary[];
  next_cursor: string | null;
}

/** Where a line came from: the container's stdout or stderr, or "" when the server does not say. */
export type LogStream = "stdout" | "stderr" | "";

export interface LogLine {
  seq: number;
  time: number;
  text: string;
  cout: boolean;
  /** Absent from servers older than the stream mark. */
  stream?: LogStream;
}

export interface LogPage {
  lines: LogLine[];
  next_after: number;
  done: boolean;
  /**
   * Where the server's reading stopped, opaque: sent back with the next request, it lets
   * any server process go on from there instead of reading the log again from its start
   * (on AWS a log is a CloudWatch Logs stream). Absent when the server has none to give.
   */
  cursor?: string;
}
