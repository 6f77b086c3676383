import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesState,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type OnNodeDrag,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, type DragEvent } from "react";
import type { GraphEdge, GraphNode } from "../../graph";
import { NODE_TYPES } from "./nodes";
import { dropTargetAt, type DropTarget } from "./placement";

export const COMPONENT_MIME = "application/x-containerops-component";

export type Selection = { kind: "job"; name: string } | { kind: "link"; id: string } | null;

export interface LinkRequest {
  source: string; // job names
  output: string;
  target: string;
  field: string;
}

interface CanvasProps {
  nodes: GraphNode[];
  edges: GraphEdge[];
  editable: boolean;
  selection: Selection;
  onSelect: (selection: Selection) => void;
  onLink?: (link: LinkRequest) => void;
  onDropComponent?: (ref: string, target: DropTarget) => void;
  onMoveJob?: (name: string, target: DropTarget) => void;
}

const jobName = (nodeId: string) => nodeId.replace(/^job:/, "");

function toFlowNode(node: GraphNode, editable: boolean, selection: Selection): Node {
  const isJob = node.kind === "job";
  return {
    id: node.id,
    type: node.kind,
    position: node.position,
    parentId: node.parentId,
    data: node.data as unknown as Record<string, unknown>,
    style: { width: node.width, height: node.height },
    width: node.width,
    height: node.height,
    draggable: editable && isJob,
    selectable: isJob,
    connectable: editable && isJob,
    selected: isJob && selection?.kind === "job" && selection.name === jobName(node.id),
    zIndex: isJob ? 2 : node.kind === "action" ? 1 : 0,
  };
}

function toFlowEdge(edge: GraphEdge, selection: Selection): Edge {
  const conflict = edge.data?.conflict ?? false;
  return {
    id: edge.id,
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.sourceHandle,
    targetHandle: edge.targetHandle,
    type: edge.kind === "link" ? "default" : "smoothstep",
    className: `edge-${edge.kind}${conflict ? " edge-conflict" : ""}`,
    selectable: edge.kind === "link",
    selected: selection?.kind === "link" && selection.id === edge.id,
    zIndex: edge.kind === "link" ? 3 : 0,
    data: edge.data as unknown as Record<string, unknown>,
  };
}

export function Canvas(props: CanvasProps) {
  const { nodes, edges, editable, selection, onSelect, onLink, onDropComponent, onMoveJob } = props;
  const flow = useReactFlow();
  const initial = useMemo(
    () => nodes.map((node) => toFlowNode(node, editable, selection)),
    [nodes, editable, selection],
  );
  const [flowNodes, setFlowNodes, onNodesChange] = useNodesState(initial);
  useEffect(() => setFlowNodes(initial), [initial, setFlowNodes]);
  const flowEdges = useMemo(() => edges.map((edge) => toFlowEdge(edge, selection)), [edges, selection]);

  const connect = useCallback(
    (connection: Connection) => {
      const { source, target, sourceHandle, targetHandle } = connection;
      if (!sourceHandle?.startsWith("out:") || !targetHandle?.startsWith("in:")) return;
      onLink?.({
        source: jobName(source),
        output: sourceHandle.slice(4),
        target: jobName(target),
        field: targetHandle.slice(3),
      });
    },
    [onLink],
  );

  const drop = useCallback(
    (event: DragEvent) => {
      const ref = event.dataTransfer.getData(COMPONENT_MIME);
      if (!ref || !onDropComponent) return;
      event.preventDefault();
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      const target = dropTargetAt(nodes, point) ?? { kind: "new-stage" };
      onDropComponent(ref, target);
    },
    [flow, nodes, onDropComponent],
  );

  const dragStop: OnNodeDrag = useCallback(
    (event, node) => {
      if (node.type !== "job" || !onMoveJob) return;
      const pointer = "changedTouches" in event ? event.changedTouches[0] : event;
      if (!pointer) return;
      const point = flow.screenToFlowPosition({ x: pointer.clientX, y: pointer.clientY });
      const others = nodes.filter((candidate) => candidate.id !== node.id);
      const target = dropTargetAt(others, point);
      if (target) onMoveJob(jobName(node.id), target);
      else setFlowNodes(initial); // back where it was
    },
    [flow, nodes, onMoveJob, initial, setFlowNodes],
  );

  return (
    <div
      className="canvas"
      data-testid="canvas"
      onDragOver={(event) => {
        if (editable && event.dataTransfer.types.includes(COMPONENT_MIME)) {
          event.preventDefault();
          event.dataTransfer.dropEffect = "copy";
        }
      }}
      onDrop={drop}
    >
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onConnect={connect}
        onNodeClick={(_event, node) => node.type === "job" && onSelect({ kind: "job", name: jobName(node.id) })}
        onEdgeClick={(_event, edge) => edge.selectable && onSelect({ kind: "link", id: edge.id })}
        onPaneClick={() => onSelect(null)}
        onNodeDragStop={dragStop}
        nodesConnectable={editable}
        nodesDraggable={editable}
        elementsSelectable
        deleteKeyCode={null}
        onlyRenderVisibleElements
        fitView
        fitViewOptions={{ maxZoom: 1, padding: 0.1 }}
        minZoom={0.05}
      >
        <Background />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable />
      </ReactFlow>
    </div>
  );
}
