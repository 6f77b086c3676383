import {
  Background,
  ControlButton,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesState,
  useReactFlow,
  useStore,
  type Connection,
  type Edge,
  type EdgeMouseHandler,
  type Node,
  type NodeMouseHandler,
  type OnNodeDrag,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import type { GraphEdge, GraphNode } from "../../graph";
import { NODE_TYPES } from "./nodes";
import { dropTargetAt, type DropTarget } from "./placement";
import { MINIMAP_HIDDEN_KEY, useRememberedFlag } from "./remembered";
import { keepUnchanged, type Signatures } from "./reuse";
import type { Selection } from "./selection";
import {
  MAP_SIZE,
  MAX_FIT_ZOOM,
  MIN_ZOOM,
  ZOOM_FLOOR,
  addedBox,
  boundsOf,
  fitViewport,
  mapCorner,
  refitViewport,
  refitsAfter,
  screenBoxes,
  structureOf,
  wholeZoom,
  type Corner,
  type Size,
  type Structure,
  type Viewport,
} from "./viewport";

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
  /** Fit so the text reads (a zoom floor, see viewport.ts), not so everything shows. */
  readable?: boolean;
}

const jobName = (nodeId: string) => nodeId.replace(/^job:/, "");
// The "fit view" button: the whole drawing, however small, for an overview.
const FIT_WHOLE = { maxZoom: 1, padding: 0.1 };
const MAP_STYLE = { width: MAP_SIZE.width, height: MAP_SIZE.height };

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

  const placed = usePlacedView(props.nodes, props.readable ? ZOOM_FLOOR : MIN_ZOOM);
  const { dragged } = placed;

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
      dragged();
      const pointer = "changedTouches" in event ? event.changedTouches[0] : event;
      if (!pointer) return;
      const point = flow.screenToFlowPosition({ x: pointer.clientX, y: pointer.clientY });
      const target = dropTargetAt(current.nodes.filter((candidate) => candidate.id !== node.id), point);
      if (target) current.onMoveJob(jobName(node.id), target);
    },
    [flow, setFlowNodes, dragged],
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
  const [mapHidden, setMapHidden] = useRememberedFlag(MINIMAP_HIDDEN_KEY);

  return (
    <div
      className={`canvas${selection?.kind === "link" ? " link-selected" : ""}`}
      data-testid="canvas"
      data-fitted={placed.fitted}
      onPointerDownCapture={(event) => {
        if ((event.target as Element).closest?.(".react-flow__minimap")) placed.moved();
      }}
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
        onInit={placed.onInit}
        onMoveStart={placed.onMoveStart}
        onMoveEnd={placed.onMoveEnd}
        minZoom={MIN_ZOOM}
      >
        <Background />
        <Controls
          showInteractive={false}
          fitViewOptions={FIT_WHOLE}
          onZoomIn={placed.moved}
          onZoomOut={placed.moved}
          onFitView={placed.moved}
        >
          <ControlButton
            onClick={() => setMapHidden(!mapHidden)}
            title={mapHidden ? "Show the minimap" : "Hide the minimap"}
            aria-label={mapHidden ? "Show the minimap" : "Hide the minimap"}
            aria-pressed={!mapHidden}
            data-testid="minimap-toggle"
          >
            <span aria-hidden>{mapHidden ? "▢" : "▣"}</span>
          </ControlButton>
        </Controls>
        {!mapHidden && <MiniMap pannable zoomable position={placed.corner} style={MAP_STYLE} />}
      </ReactFlow>
    </div>
  );
}

/**
 * The view's fit (viewport.ts): on the first drawing, again after a structural edit that no
 * drag made, and when the canvas changes size while the user has not moved the view; and the
 * minimap's corner, chosen again after every move.
 */
function usePlacedView(nodes: GraphNode[], floor: number) {
  const flow = useReactFlow();
  const width = useStore((state) => state.width);
  const height = useStore((state) => state.height);
  const [ready, setReady] = useState(false);
  const [fitted, setFitted] = useState(false);
  const [corner, setCorner] = useState<Corner>("bottom-right");
  const memory = useRef({
    done: false,
    userMoved: false,
    dragged: false,
    nodes: undefined as GraphNode[] | undefined,
    structure: undefined as Structure | undefined,
    ids: new Set<string>() as ReadonlySet<string>,
    size: { width: 0, height: 0 } as Size,
    bounds: undefined as Size | undefined, // the drawing's size at the last fit
    plain: false, // the last fit was the first sight's (not one that showed what an edit added)
  });
  const latestNodes = useRef(nodes);
  useEffect(() => {
    latestNodes.current = nodes;
  });

  const placeMap = useCallback(
    (viewport: Viewport) => {
      const size = memory.current.size;
      if (size.width > 0) setCorner(mapCorner(screenBoxes(latestNodes.current, viewport), size));
    },
    [],
  );

  useEffect(() => {
    if (!ready || width === 0 || height === 0) return;
    const state = memory.current;
    const view = { width, height };
    const resized = state.size.width !== width || state.size.height !== height;
    state.size = view;
    let next: Viewport | undefined;
    let plain = true;
    const bounds = boundsOf(nodes);
    if (nodes !== state.nodes) {
      const before = state.structure;
      const beforeIds = state.ids;
      const cause = state.dragged ? "drag" : "edit";
      state.nodes = nodes;
      state.structure = structureOf(nodes);
      state.ids = new Set(nodes.map((node) => node.id));
      state.dragged = false;
      if (bounds && state.done && before && refitsAfter(before, state.structure, cause)) {
        next = refitViewport(flow.getViewport(), bounds, addedBox(nodes, beforeIds), view, floor);
        plain = Math.min(MAX_FIT_ZOOM, wholeZoom(bounds, view)) >= floor; // shown whole: as at first sight
      }
      // Boxes that grew on their own (the components' ports arrive after the workflow) are
      // fitted again while the user has not moved the view.
      const grew = bounds && state.bounds && (bounds.width !== state.bounds.width || bounds.height !== state.bounds.height);
      if (!next && bounds && grew && cause === "edit" && state.plain && !state.userMoved) next = fitViewport(bounds, view, floor);
    }
    // A canvas that changes size (the side panel folded, a notice above) fits again only
    // while it shows what the first sight showed: not once the user, or an edit, moved it.
    if (bounds && !next && (!state.done || (resized && state.plain && !state.userMoved))) next = fitViewport(bounds, view, floor);
    if (next && bounds) {
      void flow.setViewport(next);
      state.done = true;
      state.userMoved = false;
      state.plain = plain;
      state.bounds = { width: bounds.width, height: bounds.height };
      setFitted(true);
    }
    placeMap(next ?? flow.getViewport());
  }, [nodes, ready, width, height, floor, flow, placeMap]);

  // A drag's edit comes in the same turn as the drag's end; any later press is another edit's.
  useEffect(() => {
    const forget = () => {
      memory.current.dragged = false;
    };
    document.addEventListener("pointerdown", forget, true);
    document.addEventListener("keydown", forget, true);
    return () => {
      document.removeEventListener("pointerdown", forget, true);
      document.removeEventListener("keydown", forget, true);
    };
  }, []);

  const onInit = useCallback(() => setReady(true), []);
  // React Flow names the event of a move the user makes; its own moves have none.
  const onMoveStart = useCallback((event: MouseEvent | TouchEvent | null) => {
    if (event) memory.current.userMoved = true;
  }, []);
  const onMoveEnd = useCallback((_event: MouseEvent | TouchEvent | null, viewport: Viewport) => placeMap(viewport), [placeMap]);
  const dragged = useCallback(() => {
    memory.current.dragged = true;
  }, []);
  // The zoom buttons and the minimap move the view without an event React Flow names.
  const moved = useCallback(() => {
    memory.current.userMoved = true;
  }, []);
  return { fitted, corner, onInit, onMoveStart, onMoveEnd, dragged, moved };
}
