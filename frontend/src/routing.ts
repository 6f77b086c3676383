// Where the user is, as a hash route: the build works from any folder and any static host.
export type Route =
  | { view: "home"; namespace?: string }
  | { view: "registry"; namespace?: string; name?: string; version?: string }
  | { view: "publish"; namespace?: string }
  | { view: "designer"; namespace: string; name?: string }
  | { view: "runs"; namespace: string; workflow?: string }
  | { view: "run"; namespace: string; runId: string; job?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [view, namespace, second, third] = parts;
  switch (view) {
    case "registry":
      return { view: "registry", namespace, name: second, version: third };
    case "publish":
      return { view: "publish", namespace };
    case "designer":
      return namespace ? { view: "designer", namespace, name: second } : { view: "home" };
    case "runs":
      return namespace ? { view: "runs", namespace, workflow: second } : { view: "home" };
    case "run":
      return namespace && second ? { view: "run", namespace, runId: second, job: third } : { view: "home" };
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
      return encode("designer", route.namespace, route.name);
    case "runs":
      return encode("runs", route.namespace, route.workflow);
    case "run":
      return encode("run", route.namespace, route.runId, route.job);
  }
}
