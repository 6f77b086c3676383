import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "./routing";

describe("routes", () => {
  const routes: Route[] = [
    { view: "home", namespace: "demo" },
    { view: "registry", namespace: "demo", name: "git-clone", version: "1.0.0" },
    { view: "publish", namespace: "demo" },
    { view: "designer", namespace: "demo", name: "ci" },
    { view: "runs", namespace: "demo", workflow: "ci" },
    { view: "run", namespace: "demo", runId: "20261125-101010-0000abcd", job: "build" },
  ];

  it.each(routes)("survive a round trip through the address bar: %o", (route) => {
    expect(parseRoute(href(route))).toEqual(route);
  });

  it("send an unknown or incomplete address home", () => {
    expect(parseRoute("#/nowhere")).toEqual({ view: "home" });
    expect(parseRoute("#/run/demo")).toEqual({ view: "home" });
    expect(parseRoute("")).toEqual({ view: "home" });
  });

  it("keep names with unusual characters intact", () => {
    const route: Route = { view: "run", namespace: "demo", runId: "r", job: "a/b <c>" };
    expect(parseRoute(href(route))).toEqual(route);
  });
});
