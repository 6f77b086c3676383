import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "./routing";

describe("routes", () => {
  const routes: Route[] = [
    { view: "home", namespace: "demo" },
    { view: "registry", namespace: "demo", name: "git-clone", version: "1.0.0" },
    { view: "publish", namespace: "demo" },
    { view: "designer", namespace: "demo", name: "ci" },
    { view: "designer", namespace: "demo", name: "ci", version: 3 },
    { view: "versions", namespace: "demo", name: "ci" },
    { view: "versions", namespace: "demo", name: "ci", from: 2, to: 5 },
    { view: "runs", namespace: "demo", workflow: "ci" },
    { view: "runs", namespace: "demo", workflow: "ci", status: "failed", pages: ["WzE3MDAsInIxIl0", "WzE2OTksInIwIl0"] },
    { view: "runs", namespace: "demo", status: "running" },
    { view: "run", namespace: "demo", runId: "20261125-101010-0000abcd", job: "build" },
    { view: "run", namespace: "demo", runId: "20261125-101010-0000abcd", job: "build", attempt: 2, line: 17 },
  ];

  it.each(routes)("survive a round trip through the address bar: %o", (route) => {
    expect(parseRoute(href(route))).toEqual(route);
  });

  it("send an unknown or incomplete address home", () => {
    expect(parseRoute("#/nowhere")).toEqual({ view: "home" });
    expect(parseRoute("#/run/demo")).toEqual({ view: "home" });
    expect(parseRoute("")).toEqual({ view: "home" });
  });

  it("open a stored version read-only by its number, and compare two", () => {
    expect(href({ view: "designer", namespace: "demo", name: "ci", version: 3 })).toBe("#/designer/demo/ci?version=3");
    expect(parseRoute("#/designer/demo/ci?version=0")).toEqual({ view: "designer", namespace: "demo", name: "ci" });
    expect(href({ view: "versions", namespace: "demo", name: "ci", from: 2, to: 5 })).toBe("#/versions/demo/ci?from=2&to=5");
    expect(parseRoute("#/versions/demo")).toEqual({ view: "home" });
  });

  it("name a job's attempt and line in a link that can be shared", () => {
    const link = href({ view: "run", namespace: "demo", runId: "r1", job: "build", attempt: 2, line: 17 });
    expect(link).toBe("#/run/demo/r1/build?attempt=2&line=17");
    expect(href({ view: "run", namespace: "demo", runId: "r1", job: "build", line: 3 })).toBe("#/run/demo/r1/build?line=3");
    expect(href({ view: "run", namespace: "demo", runId: "r1", attempt: 2 })).toBe("#/run/demo/r1");
  });

  it("keep the run history's filters and page in the address", () => {
    expect(href({ view: "runs", namespace: "demo", status: "failed", pages: ["a1", "b-2_"] })).toBe(
      "#/runs/demo?status=failed&pages=a1,b-2_",
    );
    expect(href({ view: "runs", namespace: "demo", pages: [] })).toBe("#/runs/demo");
    expect(parseRoute("#/runs/demo?status=exploded&pages=ok1,%3Cscript%3E,,ok2")).toEqual({
      view: "runs",
      namespace: "demo",
      pages: ["ok1", "ok2"],
    });
  });

  it("ignore an attempt or line that is not a positive whole number", () => {
    expect(parseRoute("#/run/demo/r1/build?attempt=0&line=-4")).toEqual({ view: "run", namespace: "demo", runId: "r1", job: "build" });
    expect(parseRoute("#/run/demo/r1/build?attempt=x&line=1e3")).toEqual({ view: "run", namespace: "demo", runId: "r1", job: "build" });
  });

  it("keep a job named with a question mark apart from the options", () => {
    const route: Route = { view: "run", namespace: "demo", runId: "r", job: "why?", attempt: 1 };
    expect(parseRoute(href(route))).toEqual(route);
  });

  it("keep names with unusual characters intact", () => {
    const route: Route = { view: "run", namespace: "demo", runId: "r", job: "a/b <c>" };
    expect(parseRoute(href(route))).toEqual(route);
  });
});
