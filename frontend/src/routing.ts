// Where the user is, as a hash route: the build works from any folder and any static host.
// A route's options follow a `?` in the hash (`#/run/demo/<run>/build?attempt=2&line=17`), so
// an address names exactly what is on screen and can be shared.
export type Route =
  | { view: "home"; namespace?: string }
  | { view: "registry"; namespace?: string; name?: string; version?: string }
  | { view: "publish"; namespace?: string }
  | {
      view: "designer";
      namespace: string;
      name?: string;
      /** A stored version, opened read-only (none: the latest, to edit). */
      version?: number;
    }
  | {
      view: "versions";
      namespace: string;
      name: string;
      /** The two versions compared, older first (none: the latest against the one before). */
      from?: number;
      to?: number;
    }
  | {
      view: "runs";
      namespace: string;
      workflow?: string;
      /** One of RUN_STATES, or undefined for any. */
      status?: string;
      /** The history's page: the cursors of the pages before it, oldest last (none: the newest). */
      pages?: string[];
    }
  | { view: "run"; namespace: string; runId: string; job?: string; attempt?: number; line?: number };

/** The states the run history filters by. */
export const RUN_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** The server's run cursors are base64url: a list of them is written comma-separated. */
const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

function cursorsOf(value: string | null): string[] | undefined {
  const cursors = (value ?? "").split(",").filter((cursor) => CURSOR.test(cursor));
  return cursors.length ? cursors.slice(0, 100) : undefined;
}

/** A positive whole number from the address, or undefined. */
function positive(value: string | null): number | undefined {
  return value !== null && /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : undefined;
}

function options(values: Record<string, string | number | undefined>): string {
  // URLSearchParams would write the cursors' commas as %2C: they are left readable.
  const given = Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  const pairs = given.map(([key, value]) => {
    const written = encodeURIComponent(String(value)).replace(/%2C/g, ",");
    return `${encodeURIComponent(key)}=${written}`;
  });
  return pairs.length ? `?${pairs.join("&")}` : "";
}

export function parseRoute(hash: string): Route {
  const bare = hash.replace(/^#\/?/, "");
  const mark = bare.indexOf("?");
  const query = new URLSearchParams(mark < 0 ? "" : bare.slice(mark + 1));
  const path = mark < 0 ? bare : bare.slice(0, mark);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [view, namespace, second, third] = parts;
  switch (view) {
    case "registry":
      return { view: "registry", namespace, name: second, version: third };
    case "publish":
      return { view: "publish", namespace };
    case "designer":
      if (!namespace) return { view: "home" };
      return {
        view: "designer",
        namespace,
        name: second,
        ...(second && positive(query.get("version")) ? { version: positive(query.get("version")) } : {}),
      };
    case "versions":
      if (!namespace || !second) return { view: "home" };
      return {
        view: "versions",
        namespace,
        name: second,
        ...(positive(query.get("from")) ? { from: positive(query.get("from")) } : {}),
        ...(positive(query.get("to")) ? { to: positive(query.get("to")) } : {}),
      };
    case "runs":
      if (!namespace) return { view: "home" };
      return {
        view: "runs",
        namespace,
        workflow: second,
        status: RUN_STATES.find((state) => state === query.get("status")),
        pages: cursorsOf(query.get("pages")),
      };
    case "run":
      if (!namespace || !second) return { view: "home" };
      return {
        view: "run",
        namespace,
        runId: second,
        job: third,
        ...(third ? { attempt: positive(query.get("attempt")), line: positive(query.get("line")) } : {}),
      };
    default:
      return { view: "home", namespace: view === "workflows" ? namespace : undefined };
  }
}

export function href(route: Route): string {
  const encode = (...parts: (string | undefined)[]) =>
    "#/" + parts.filter((part): part is string => Boolean(part)).map(encodeURIComponent).join("/");
  switch (route.view) {
    case "home":
      return encode("workflows", route.namespace);
    case "registry":
      return encode("registry", route.namespace, route.name, route.version);
    case "publish":
      return encode("publish", route.namespace);
    case "designer":
      return encode("designer", route.namespace, route.name) + (route.name ? options({ version: route.version }) : "");
    case "versions":
      return encode("versions", route.namespace, route.name) + options({ from: route.from, to: route.to });
    case "runs":
      return (
        encode("runs", route.namespace, route.workflow) +
        options({ status: route.status, pages: route.pages?.length ? route.pages.join(",") : undefined })
      );
    case "run":
      return (
        encode("run", route.namespace, route.runId, route.job) +
        (route.job ? options({ attempt: route.attempt, line: route.line }) : "")
      );
  }
}
