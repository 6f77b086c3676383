import { describe, expect, it } from "vitest";
import { clampPanelWidth, DEFAULT_PANEL_WIDTH, MIN_GRAPH_WIDTH, MIN_PANEL_WIDTH, widthAtPointer } from "./panelWidth";

describe("the run view's side panel", () => {
  it("keeps a width that reads and leaves the graph room", () => {
    expect(clampPanelWidth(800, 1600)).toBe(800);
    expect(clampPanelWidth(100, 1600)).toBe(MIN_PANEL_WIDTH);
    expect(clampPanelWidth(1500, 1600)).toBe(1600 - MIN_GRAPH_WIDTH);
  });

  it("stays readable in a window too narrow for both", () => {
    expect(clampPanelWidth(700, 500)).toBe(MIN_PANEL_WIDTH);
  });

  it("falls back to the default for a width that is not a number", () => {
    expect(clampPanelWidth(Number.NaN, 1600)).toBe(DEFAULT_PANEL_WIDTH);
    expect(clampPanelWidth(Number.NaN, 800)).toBe(800 - MIN_GRAPH_WIDTH);
  });

  it("follows the pointer that drags its left edge", () => {
    expect(widthAtPointer(1000, 1600, 1600)).toBe(600);
    expect(widthAtPointer(10, 1600, 1600)).toBe(1600 - MIN_GRAPH_WIDTH);
  });
});
