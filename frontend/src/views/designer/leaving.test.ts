import { describe, expect, it } from "vitest";
import { leavesDesigner, type LinkClick } from "./leaving";

const click = (href: string | null, more: Partial<LinkClick> = {}): LinkClick => ({
  href,
  target: null,
  download: false,
  button: 0,
  modified: false,
  ...more,
});

describe("a click on a link, from the designer of team/ci", () => {
  it("leaves through the app's own links: the header, the runs, another workflow", () => {
    expect(leavesDesigner(click("#/workflows/team"), "team", "ci")).toBe("#/workflows/team");
    expect(leavesDesigner(click("#/runs/team/ci"), "team", "ci")).toBe("#/runs/team/ci");
    expect(leavesDesigner(click("#/designer/team/cd"), "team", "ci")).toBe("#/designer/team/cd");
    expect(leavesDesigner(click("#/"), "team", "ci")).toBe("#/");
  });

  it("stays when the link is to this very workflow", () => {
    expect(leavesDesigner(click("#/designer/team/ci"), "team", "ci")).toBeUndefined();
  });

  it("lets through what opens elsewhere and keeps the draft: a new tab, a download, another site", () => {
    expect(leavesDesigner(click("#/runs/team", { target: "_blank" }), "team", "ci")).toBeUndefined();
    expect(leavesDesigner(click("#/runs/team", { modified: true }), "team", "ci")).toBeUndefined();
    expect(leavesDesigner(click("#/runs/team", { button: 1 }), "team", "ci")).toBeUndefined();
    expect(leavesDesigner(click("#/runs/team", { download: true }), "team", "ci")).toBeUndefined();
    expect(leavesDesigner(click("https://example.org/"), "team", "ci")).toBeUndefined(); // the browser asks
    expect(leavesDesigner(click(null), "team", "ci")).toBeUndefined();
  });
});
