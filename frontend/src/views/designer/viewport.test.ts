import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../../api/types";
import { addStage, workflowToGraph } from "../../graph";
import { ciWorkflow, lookup } from "../../graph/fixtures";
import {
  MIN_TEXT_PX,
  NODE_TEXT_PX,
  ZOOM_FLOOR,
  addedBox,
  boundsOf,
  cornerBox,
  fitViewport,
  mapCorner,
  onScreen,
  refitViewport,
  refitsAfter,
  screenBoxes,
  structureOf,
  type Box,
  type Viewport,
} from "./viewport";

const view = { width: 800, height: 600 };

/** `jobs` jobs, `perStage` to a stage, one action each. */
function generated(jobs: number, perStage: number): WorkflowDefinition {
  const stages = [];
  for (let first = 0; first < jobs; first += perStage) {
    const list = [];
    for (let j = first; j < Math.min(jobs, first + perStage); j++) list.push({ name: `job-${j}`, image: "busybox" });
    stages.push({ name: `stage-${stages.length}`, actions: [{ name: "a", jobs: list }] });
  }
  return { apiVersion: "containerops/v1", kind: "Workflow", metadata: { namespace: "demo", name: "big" }, spec: { stages } };
}

const inside = (box: Box, size: { width: number; height: number }) =>
  box.x >= 0 && box.y >= 0 && box.x + box.width <= size.width && box.y + box.height <= size.height;

describe("the fitted view", () => {
  it("has a floor at which a job box's smallest text is 11 px on screen", () => {
    expect(NODE_TEXT_PX * ZOOM_FLOOR).toBeCloseTo(MIN_TEXT_PX);
  });

  it("shows a small workflow whole and centred, never magnified past 1", () => {
    const bounds = { x: 0, y: 0, width: 400, height: 200 };
    const fitted = fitViewport(bounds, view);
    expect(fitted.zoom).toBe(1);
    expect(onScreen(bounds, fitted)).toEqual({ x: 200, y: 200, width: 400, height: 200 });
  });

  it("zooms out to show a workflow whole while its text stays readable", () => {
    const bounds = { x: 0, y: 0, width: 820, height: 300 };
    const fitted = fitViewport(bounds, view);
    expect(fitted.zoom).toBeGreaterThanOrEqual(ZOOM_FLOOR);
    expect(fitted.zoom).toBeLessThan(1);
    expect(inside(onScreen(bounds, fitted), view)).toBe(true);
  });

  it("starts a workflow too big to be read whole at its first stage, at the floor", () => {
    const graph = workflowToGraph(generated(30, 10), () => undefined);
    const bounds = boundsOf(graph.nodes);
    if (!bounds) throw new Error("no bounds");
    const fitted = fitViewport(bounds, { width: 484, height: 640 });
    expect(fitted.zoom).toBe(ZOOM_FLOOR);
    const trigger = graph.nodes.find((node) => node.id === "trigger");
    const first = graph.nodes.find((node) => node.id === "stage:0");
    if (!trigger || !first) throw new Error("no trigger or stage");
    const shown = onScreen({ ...first.position, width: first.width, height: 40 }, fitted);
    expect(shown.x).toBeGreaterThan(0);
    expect(shown.x).toBeLessThan(484);
    expect(shown.y).toBeGreaterThan(0);
  });

  it("centres a wide but short workflow top to bottom while it starts at its first stage", () => {
    const bounds = { x: 0, y: 0, width: 3000, height: 200 };
    const fitted = fitViewport(bounds, view);
    expect(fitted.zoom).toBe(ZOOM_FLOOR);
    const shown = onScreen(bounds, fitted);
    expect(shown.x).toBeCloseTo(24);
    expect(shown.y + shown.height / 2).toBeCloseTo(view.height / 2);
  });

  it("reads the example CI workflow whole on a wide canvas", () => {
    const bounds = boundsOf(workflowToGraph(ciWorkflow(), lookup).nodes);
    if (!bounds) throw new Error("no bounds");
    expect(fitViewport(bounds, { width: 1400, height: 800 }).zoom).toBeGreaterThanOrEqual(ZOOM_FLOOR);
  });
});

describe("the view after a structural edit", () => {
  it("fits the whole drawing again when it still fits", () => {
    const bounds = { x: 0, y: 0, width: 600, height: 300 };
    const wandered: Viewport = { x: -900, y: 40, zoom: 0.3 };
    expect(refitViewport(wandered, bounds, undefined, view)).toEqual(fitViewport(bounds, view));
  });

  it("brings a stage added past the right edge into view, at the floor", () => {
    const before = workflowToGraph(generated(30, 10), () => undefined);
    const after = workflowToGraph(addStage(generated(30, 10)), () => undefined);
    const bounds = boundsOf(after.nodes);
    const target = addedBox(after.nodes, new Set(before.nodes.map((node) => node.id)));
    if (!bounds || !target) throw new Error("nothing added");
    const canvas = { width: 484, height: 640 };
    const start = fitViewport(boundsOf(before.nodes) ?? bounds, canvas);
    const next = refitViewport(start, bounds, target, canvas);
    expect(next.zoom).toBe(ZOOM_FLOOR);
    const shown = onScreen(target, next);
    expect(shown.x).toBeGreaterThanOrEqual(0);
    expect(shown.x + shown.width).toBeLessThanOrEqual(canvas.width);
  });

  it("keeps the view's centre when something was removed from a drawing too big to fit", () => {
    const bounds = { x: 0, y: 0, width: 3000, height: 2000 };
    const current: Viewport = { x: -500, y: -300, zoom: ZOOM_FLOOR };
    expect(refitViewport(current, bounds, undefined, view)).toEqual(current);
  });

  it("refits after a stage, an action or a job is added or removed", () => {
    const shape = { stages: 2, actions: 3, jobs: 4 };
    expect(refitsAfter(shape, { ...shape, stages: 3 }, "edit")).toBe(true);
    expect(refitsAfter(shape, { ...shape, actions: 2 }, "edit")).toBe(true);
    expect(refitsAfter(shape, { ...shape, jobs: 5 }, "edit")).toBe(true);
  });

  it("does not refit after a drag, a rename or a field edit", () => {
    const shape = { stages: 2, actions: 3, jobs: 4 };
    expect(refitsAfter(shape, { stages: 3, actions: 4, jobs: 4 }, "drag")).toBe(false); // dragged past the last stage
    expect(refitsAfter(shape, { ...shape }, "edit")).toBe(false);
  });

  it("counts the stages, actions and jobs drawn", () => {
    expect(structureOf(workflowToGraph(generated(7, 3), () => undefined).nodes)).toEqual({ stages: 3, actions: 3, jobs: 7 });
  });
});

describe("the minimap's corner", () => {
  it("is the bottom-right one when no node is there", () => {
    expect(mapCorner([{ x: 100, y: 100, width: 200, height: 200 }], view)).toBe("bottom-right");
  });

  it("moves to a free corner when a node is under the bottom-right one", () => {
    const bottomRight = { x: 700, y: 550, width: 50, height: 30 };
    expect(mapCorner([bottomRight], view)).toBe("top-right");
    expect(mapCorner([bottomRight, { x: 700, y: 20, width: 50, height: 30 }], view)).toBe("top-left");
  });

  it("takes the corner that covers least when none is free", () => {
    const everywhere = [
      { x: 0, y: 0, width: 800, height: 60 },
      { x: 0, y: 540, width: 800, height: 60 },
      { x: 700, y: 500, width: 100, height: 100 },
      { x: 700, y: 0, width: 100, height: 100 },
    ];
    expect(mapCorner(everywhere, view)).toBe("top-left");
  });

  it("finds a free corner for a fitted generated workflow of 30 jobs", () => {
    const nodes = workflowToGraph(generated(30, 6), () => undefined).nodes;
    const bounds = boundsOf(nodes);
    if (!bounds) throw new Error("no bounds");
    for (const canvas of [{ width: 484, height: 640 }, { width: 900, height: 780 }]) {
      const viewport = fitViewport(bounds, canvas);
      const boxes = screenBoxes(nodes, viewport);
      const corner = mapCorner(boxes, canvas);
      const map = cornerBox(corner, canvas);
      const covers = boxes.some((box) => box.x < map.x + map.width && map.x < box.x + box.width && box.y < map.y + map.height && map.y < box.y + box.height);
      expect(covers).toBe(false);
    }
  });
});
