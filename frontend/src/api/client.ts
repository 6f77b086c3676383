// The one way the designer talks to the server. Every failure becomes an `ApiError` with
// the server's code, message and problem list, so views show what the server said.
import type {
  CheckResult,
  ComponentDefinition,
  ComponentEntry,
  InstancePage,
  LogPage,
  Problem,
  RerunScope,
  RunDocument,
  RunPage,
  RunSummary,
  WorkflowDefinition,
  WorkflowSummary,
  WorkflowVersion,
  WorkflowVersionList,
} from "./types";

const TOKEN_KEY = "containerops.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }

  get isConflict(): boolean {
    return this.status === 409;
  }
}

/** The API token, when the server asks for one: asked once, kept for the browser session. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the server answers 401: the app asks for a token. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** The answer's body as text (a YAML export), not parsed as JSON. */
  text?: boolean;
}

// Where the API's paths are appended: beside the designer unless the site's config.json
// names another (src/config/siteConfig.ts), set once before the app starts.
let apiBase = "api";

export function setApiBase(base: string): void {
  apiBase = base;
}

async function call<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: options.text ? "text/yaml, application/json" : "application/json" };
  const saved = token.get();
  if (saved) headers.Authorization = `Bearer ${saved}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${apiBase}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "the server cannot be reached");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (response.ok && options.text) return text as T;
  let document: unknown = undefined;
  try {
    document = text ? JSON.parse(text) : undefined;
  } catch {
    document = undefined;
  }
  if (!response.ok) {
    const error = (document as { error?: { code?: string; message?: string; details?: Problem[] } })?.error;
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
    throw new ApiError(
      response.status,
      error?.code ?? "http_error",
      error?.message ?? (document as { message?: string })?.message ?? `${method} ${path} answered ${response.status}`,
      error?.details ?? [],
    );
  }
  return document as T;
}

const ns = (namespace: string) => `/namespaces/${encodeURIComponent(namespace)}`;
const part = encodeURIComponent;

function query(values: Record<string, string | number | undefined | null>): string {
  const pairs = Object.entries(values).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}` : "";
}

export interface RunFilters {
  workflow?: string;
  status?: string;
  cursor?: string | null;
  limit?: number;
}

export const api = {
  health: () => call<{ status: string }>("GET", "/health"),

  /** Every namespace holding something, or (`"components"`) only those holding components. */
  namespaces: (holding?: "components") =>
    call<{ namespaces: string[] }>("GET", `/namespaces${query({ holding })}`),

  components: (namespace: string) => call<{ components: ComponentEntry[] }>("GET", `${ns(namespace)}/components`),
  componentVersions: (namespace: string, name: string) =>
    call<{ versions: ComponentEntry[] }>("GET", `${ns(namespace)}/components/${part(name)}/versions`),
  component: (namespace: string, name: string, version: string) =>
    call<ComponentEntry>("GET", `${ns(namespace)}/components/${part(name)}/versions/${part(version)}`),
  publishComponent: (namespace: string, definition: ComponentDefinition) =>
    call<ComponentEntry>("POST", `${ns(namespace)}/components`, definition),
  deprecateComponent: (namespace: string, name: string, version: string, deprecated: boolean) =>
    call<{ deprecated: boolean }>(
      "PUT",
      `${ns(namespace)}/components/${part(name)}/versions/${part(version)}/deprecated`,
      { deprecated },
    ),

  workflows: (namespace: string) => call<{ workflows: WorkflowSummary[] }>("GET", `${ns(namespace)}/workflows`),
  workflow: (namespace: string, name: string, version?: number) =>
    call<WorkflowVersion>("GET", `${ns(namespace)}/workflows/${part(name)}${query({ version })}`),
  createWorkflow: (namespace: string, definition: WorkflowDefinition) =>
    call<WorkflowVersion & { webhook_secret: string }>("POST", `${ns(namespace)}/workflows`, definition),
  saveWorkflow: (namespace: string, name: string, expectedVersion: number, definition: WorkflowDefinition) =>
    call<WorkflowVersion>("PUT", `${ns(namespace)}/workflows/${part(name)}`, {
      expected_version: expectedVersion,
      definition,
    }),
  checkWorkflow: (namespace: string, definition: WorkflowDefinition) =>
    call<CheckResult>("POST", `${ns(namespace)}/workflows/check`, definition),
  /** Every saved version, newest first (the versions view). */
  workflowVersions: (namespace: string, name: string) =>
    call<WorkflowVersionList>("GET", `${ns(namespace)}/workflows/${part(name)}/versions`),
  /** The server's YAML export of a version (the latest when none is named). */
  workflowYaml: (namespace: string, name: string, version?: number) =>
    call<string>("GET", `${ns(namespace)}/workflows/${part(name)}/yaml${query({ version })}`, undefined, { text: true }),
  setWorkflowEnabled: (namespace: string, name: string, enabled: boolean) =>
    call<WorkflowSummary>("PUT", `${ns(namespace)}/workflows/${part(name)}/enabled`, { enabled }),
  deleteWorkflow: (namespace: string, name: string) =>
    call<void>("DELETE", `${ns(namespace)}/workflows/${part(name)}`),

  startRun: (namespace: string, workflow: string, params: Record<string, string>) =>
    call<RunSummary>("POST", `${ns(namespace)}/workflows/${part(workflow)}/runs`, { params }),
  runs: (namespace: string, filters: RunFilters = {}) =>
    call<RunPage>("GET", `${ns(namespace)}/runs${query({ ...filters })}`),
  run: (namespace: string, runId: string, options?: RequestOptions) =>
    call<RunDocument>("GET", `${ns(namespace)}/runs/${part(runId)}`, undefined, options),
  cancelRun: (namespace: string, runId: string) => call<RunSummary>("POST", `${ns(namespace)}/runs/${part(runId)}/cancel`),
  /** A new run of the same version and params: `scope` says which jobs run again (the server's default: the failed ones). */
  rerun: (namespace: string, runId: string, scope?: RerunScope) =>
    call<RunSummary>("POST", `${ns(namespace)}/runs/${part(runId)}/rerun`, scope),
  /** A page of a fan-out job's instances: of one state, or (none) failed first, then running, then by index. */
  instances: (
    namespace: string,
    runId: string,
    job: string,
    page: { state?: string; cursor?: string | null; limit?: number } = {},
    options?: RequestOptions,
  ) =>
    call<InstancePage>(
      "GET",
      `${ns(namespace)}/runs/${part(runId)}/jobs/${part(job)}/instances${query({ ...page })}`,
      undefined,
      options,
    ),
  // Pages of 5,000 lines, the most the server gives: a long log loads in few requests.
  logs: (
    namespace: string,
    runId: string,
    job: string,
    attempt: number,
    after: number,
    follow: number,
    cursor = "",
    options?: RequestOptions,
  ) =>
    call<LogPage>(
      "GET",
      `${ns(namespace)}/runs/${part(runId)}/jobs/${part(job)}/attempts/${attempt}/logs${query({ after, follow, limit: 5000, cursor })}`,
      undefined,
      options,
    ),
};
