// What part of the drawing the canvas shows, and where its minimap sits: pure, from the
// graph's boxes and the canvas's size in screen pixels (issue 11, item 2).
//
// Decisions where the issue is silent:
// - The fit's zoom has a floor: the smallest text of a job box (12 px in designer.css) is
//   then at least 11 px on screen. A drawing that fits at the floor or above is shown whole
//   (never magnified past 1); one that does not is shown at the floor from its start (the
//   trigger and the first stage; the top, when it is also too tall), and the user pans. The canvas's own "fit view"
//   button still zooms out to the whole drawing, for an overview.
// - A structural edit (a stage, action or job added or removed) refits; a drag, a rename or
//   a field edit does not, as the user is looking at what they just touched. When the drawing
//   no longer fits, a refit keeps the view where it was, at the floor, and pans just enough to
//   show what was added.
// - The minimap is small and sits in the first corner (bottom-right, top-right, top-left:
//   bottom-left holds the zoom buttons) that covers no node, chosen again after each move.
import type { GraphNode } from "../../graph";
import { absolutePositions } from "../../graph";

export interface Size {
  width: number;
  height: number;
}

export interface Box extends Size {
  x: number;
  y: number;
}

/** React Flow's viewport: a point p of the drawing is on screen at p * zoom + (x, y). */
export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export const MIN_TEXT_PX = 11;
/** The smallest text a job box is read by (its component line and its ports, designer.css). */
export const NODE_TEXT_PX = 12;
export const ZOOM_FLOOR = MIN_TEXT_PX / NODE_TEXT_PX;
export const MAX_FIT_ZOOM = 1;
/** How far the canvas may zoom out (its "fit view" button, the mouse wheel). */
export const MIN_ZOOM = 0.05;
export const FIT_MARGIN = 24; // screen pixels around the drawing

/** The box around every top-level node (the trigger, the stages, the end): they hold the rest. */
export function boundsOf(nodes: readonly GraphNode[]): Box | undefined {
  const tops = nodes.filter((node) => !node.parentId);
  if (tops.length === 0) return undefined;
  return unionOf(tops.map((node) => ({ ...node.position, width: node.width, height: node.height })));
}

function unionOf(boxes: readonly Box[]): Box | undefined {
  if (boxes.length === 0) return undefined;
  const left = Math.min(...boxes.map((box) => box.x));
  const top = Math.min(...boxes.map((box) => box.y));
  const right = Math.max(...boxes.map((box) => box.x + box.width));
  const bottom = Math.max(...boxes.map((box) => box.y + box.height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/** The boxes (in drawing coordinates) of the nodes whose ids are not in `before`, as one box. */
export function addedBox(nodes: readonly GraphNode[], before: ReadonlySet<string>): Box | undefined {
  const fresh = nodes.filter((node) => !before.has(node.id));
  if (fresh.length === 0) return undefined;
  const corners = absolutePositions(nodes);
  return unionOf(fresh.map((node) => ({ ...(corners.get(node.id) ?? node.position), width: node.width, height: node.height })));
}

/** The zoom at which the whole box fits the view, margins included (not capped). */
export function wholeZoom(bounds: Box, view: Size): number {
  const width = Math.max(1, view.width - 2 * FIT_MARGIN);
  const height = Math.max(1, view.height - 2 * FIT_MARGIN);
  return Math.min(width / Math.max(1, bounds.width), height / Math.max(1, bounds.height));
}

/**
 * The whole drawing, centred, when it fits at `floor` or above; else, at `floor`, its start
 * (the trigger and the first stage, its top) along each axis it overflows, centred along the other.
 */
export function fitViewport(bounds: Box, view: Size, floor = ZOOM_FLOOR): Viewport {
  const zoom = Math.min(MAX_FIT_ZOOM, wholeZoom(bounds, view));
  if (zoom >= floor) {
    return {
      zoom,
      x: view.width / 2 - (bounds.x + bounds.width / 2) * zoom,
      y: view.height / 2 - (bounds.y + bounds.height / 2) * zoom,
    };
  }
  // Along an axis where it fits, the drawing is centred; along one where it does not, its start shows.
  const along = (start: number, length: number, span: number) =>
    length * floor <= span - 2 * FIT_MARGIN ? span / 2 - (start + length / 2) * floor : FIT_MARGIN - start * floor;
  return { zoom: floor, x: along(bounds.x, bounds.width, view.width), y: along(bounds.y, bounds.height, view.height) };
}

/** The least move along one axis that brings [start, start + length) inside [0, span) with margins. */
function panToShow(start: number, length: number, span: number): number {
  const room = span - 2 * FIT_MARGIN;
  if (length > room || start < FIT_MARGIN) return FIT_MARGIN - start; // too big: its start shows
  const end = start + length;
  return end > span - FIT_MARGIN ? span - FIT_MARGIN - end : 0;
}

/**
 * The view after a structural edit: the whole drawing when it fits at `floor`; else the
 * current view's centre kept, at the floor, moved just enough to show `target` (what was added).
 */
export function refitViewport(current: Viewport, bounds: Box, target: Box | undefined, view: Size, floor = ZOOM_FLOOR): Viewport {
  if (Math.min(MAX_FIT_ZOOM, wholeZoom(bounds, view)) >= floor) return fitViewport(bounds, view, floor);
  const centre = { x: (view.width / 2 - current.x) / current.zoom, y: (view.height / 2 - current.y) / current.zoom };
  const kept = { zoom: floor, x: view.width / 2 - centre.x * floor, y: view.height / 2 - centre.y * floor };
  if (!target) return kept;
  return {
    zoom: floor,
    x: kept.x + panToShow(target.x * floor + kept.x, target.width * floor, view.width),
    y: kept.y + panToShow(target.y * floor + kept.y, target.height * floor, view.height),
  };
}

/** A box of the drawing, on screen. */
export function onScreen(box: Box, viewport: Viewport): Box {
  return {
    x: box.x * viewport.zoom + viewport.x,
    y: box.y * viewport.zoom + viewport.y,
    width: box.width * viewport.zoom,
    height: box.height * viewport.zoom,
  };
}

export type Corner = "bottom-right" | "top-right" | "top-left" | "bottom-left";
export const MAP_CORNERS: readonly Corner[] = ["bottom-right", "top-right", "top-left"];
export const MAP_SIZE: Size = { width: 150, height: 100 };
export const MAP_OFFSET = 15; // React Flow's panel margin, in screen pixels
const MAP_CLEARANCE = 6; // a node this close to the map is still covered, to the eye

/** Where the map is drawn in that corner, in screen pixels. */
export function cornerBox(corner: Corner, view: Size, map: Size = MAP_SIZE): Box {
  const x = corner.endsWith("right") ? view.width - MAP_OFFSET - map.width : MAP_OFFSET;
  const y = corner.startsWith("bottom") ? view.height - MAP_OFFSET - map.height : MAP_OFFSET;
  return { x, y, width: map.width, height: map.height };
}

const grown = (box: Box, by: number): Box => ({ x: box.x - by, y: box.y - by, width: box.width + 2 * by, height: box.height + 2 * by });

function overlap(a: Box, b: Box): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

/**
 * The first of `corners` where the map covers none of `boxes` (on screen); when every one
 * covers some, the one that covers least.
 */
export function mapCorner(boxes: readonly Box[], view: Size, map: Size = MAP_SIZE, corners: readonly Corner[] = MAP_CORNERS): Corner {
  let best: { corner: Corner; covered: number } | undefined;
  for (const corner of corners) {
    const place = grown(cornerBox(corner, view, map), MAP_CLEARANCE);
    const covered = boxes.reduce((sum, box) => sum + overlap(place, box), 0);
    if (covered === 0) return corner;
    if (!best || covered < best.covered) best = { corner, covered };
  }
  return best?.corner ?? corners[0] ?? "bottom-right";
}

/** The top-level nodes' boxes on screen: every other node lies inside one of them. */
export function screenBoxes(nodes: readonly GraphNode[], viewport: Viewport): Box[] {
  return nodes
    .filter((node) => !node.parentId)
    .map((node) => onScreen({ ...node.position, width: node.width, height: node.height }, viewport));
}

/** What a structural edit changes: how many stages, actions and jobs the drawing has. */
export interface Structure {
  stages: number;
  actions: number;
  jobs: number;
}

export function structureOf(nodes: readonly GraphNode[]): Structure {
  const count = (kind: GraphNode["kind"]) => nodes.filter((node) => node.kind === kind).length;
  return { stages: count("stage"), actions: count("action"), jobs: count("job") };
}

/** Whether the view is fitted again: after a stage, action or job is added or removed, unless a drag did it. */
export function refitsAfter(before: Structure, after: Structure, cause: "drag" | "edit"): boolean {
  if (cause === "drag") return false;
  return before.stages !== after.stages || before.actions !== after.actions || before.jobs !== after.jobs;
}
