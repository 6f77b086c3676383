import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesState,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeMouseHandler,
  type Node,
  type NodeMouseHandler,
  type OnNodeDrag,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, type DragEvent } from "react";
import type { GraphEdge, GraphNode } from "../../graph";
import { NODE_TYPES } from "./nodes";
import { dropTargetAt, type DropTarget } from "./placement";
import { keepUnchanged, type Signatures } from "./reuse";
import type { Selection } from "./selection";

export type { Selection } from "./selection";

export const COMPONENT_MIME = "application/x-containerops-component";


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
const FIT_VIEW = { maxZoom: 1, padding: 0.1 };

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
    zIndex: edge.kind !== "link" ? 0 : selection?.kind === "link" && selection.id === edge.id ? 4 : 3, // the selected one on top
    data: edge.data as unknown as Record<string, unknown>,
  };
}

export function Canvas(props: CanvasProps) {
  const { nodes, edges, editable, selection } = props;
  const flow = useReactFlow();
  const initial = useMemo(
    () => nodes.map((node) => toFlowNode(node, editable, selection)),
    [nodes, editable, selection],
  );
  const [flowNodes, setFlowNodes, onNodesChange] = useNodesState(initial);
  const nodeSignatures = useRef<Signatures>(new Map());
  useEffect(() => {
    setFlowNodes((held) => {
      const kept = keepUnchanged(initial, nodeSignatures.current, new Map(held.map((node) => [node.id, node])));
      nodeSignatures.current = kept.signatures;
      return kept.items;
    });
  }, [initial, setFlowNodes]);
  const edgesShown = useRef<{ signatures: Signatures; items: ReadonlyMap<string, Edge> }>({ signatures: new Map(), items: new Map() });
  const flowEdges = useMemo(() => {
    const kept = keepUnchanged(edges.map((edge) => toFlowEdge(edge, selection)), edgesShown.current.signatures, edgesShown.current.items);
    edgesShown.current = { signatures: kept.signatures, items: new Map(kept.items.map((edge) => [edge.id, edge])) };
    return kept.items;
  }, [edges, selection]);

  // The handlers are stable and read the latest props: React Flow keeps them in its store and
  // hands some to every node and edge, which would all re-render when one changes (each
  // keystroke in a panel re-renders the designer, with new callbacks).
  const latest = useRef({ props, initial });
  useEffect(() => {
    latest.current = { props, initial };
  });

  const connect = useCallback((connection: Connection) => {
    const { source, target, sourceHandle, targetHandle } = connection;
    if (!sourceHandle?.startsWith("out:") || !targetHandle?.startsWith("in:")) return;
    latest.current.props.onLink?.({
      source: jobName(source),
      output: sourceHandle.slice(4),
      target: jobName(target),
      field: targetHandle.slice(3),
    });
  }, []);

  const drop = useCallback(
    (event: DragEvent) => {
      const { nodes: shown, onDropComponent } = latest.current.props;
      const ref = event.dataTransfer.getData(COMPONENT_MIME);
      if (!ref || !onDropComponent) return;
      event.preventDefault();
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      onDropComponent(ref, dropTargetAt(shown, point) ?? { kind: "new-stage" });
    },
    [flow],
  );

  const dragStop: OnNodeDrag = useCallback(
    (event, node) => {
      const { props: current, initial: computed } = latest.current;
      if (node.type !== "job" || !current.onMoveJob) return;
      // Back where it was first: a move that changes nothing leaves the drawing as it is.
      const before = computed.find((candidate) => candidate.id === node.id);
      if (before) setFlowNodes((held) => held.map((candidate) => (candidate.id === node.id ? before : candidate)));
      const pointer = "changedTouches" in event ? event.changedTouches[0] : event;
      if (!pointer) return;
      const point = flow.screenToFlowPosition({ x: pointer.clientX, y: pointer.clientY });
      const target = dropTargetAt(current.nodes.filter((candidate) => candidate.id !== node.id), point);
      if (target) current.onMoveJob(jobName(node.id), target);
    },
    [flow, setFlowNodes],
  );

  const clickNode: NodeMouseHandler = useCallback(
    (_event, node) => node.type === "job" && latest.current.props.onSelect({ kind: "job", name: jobName(node.id) }),
    [],
  );
  const clickEdge: EdgeMouseHandler = useCallback(
    (_event, edge) => edge.selectable && latest.current.props.onSelect({ kind: "link", id: edge.id }),
    [],
  );
  const clickPane = useCallback(() => latest.current.props.onSelect(null), []);

  return (
    <div
      className={`canvas${selection?.kind === "link" ? " link-selected" : ""}`}
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
        onNodeClick={clickNode}
        onEdgeClick={clickEdge}
        onPaneClick={clickPane}
        onNodeDragStop={dragStop}
        nodesConnectable={editable}
        nodesDraggable={editable}
        elementsSelectable
        deleteKeyCode={null}
        onlyRenderVisibleElements
        fitView
        fitViewOptions={FIT_VIEW}
        minZoom={0.05}
      >
        <Background />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable />
      </ReactFlow>
    </div>
  );
}
