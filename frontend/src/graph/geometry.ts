import type { GraphNode, Point } from "./model";

/** Every node's top-left corner on the canvas: children are placed relative to their parents. */
export function absolutePositions(nodes: readonly GraphNode[]): Map<string, Point> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const placed = new Map<string, Point>();
  const place = (node: GraphNode): Point => {
    const known = placed.get(node.id);
    if (known) return known;
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    const origin = parent ? place(parent) : { x: 0, y: 0 };
    const point = { x: origin.x + node.position.x, y: origin.y + node.position.y };
    placed.set(node.id, point);
    return point;
  };
  nodes.forEach(place);
  return placed;
}
