export type {
  ActionNodeData,
  ComponentLookup,
  EndNodeData,
  Graph,
  GraphEdge,
  GraphNode,
  JobNodeData,
  LinkEdgeData,
  NodeKind,
  OutputPort,
  Point,
  Port,
  StageNodeData,
  TriggerNodeData,
} from "./model";
export { actionId, inputHandle, jobId, outputHandle, stageId } from "./model";
export { canLink, conflicts, connect, disconnect, parseLinks, type Link, type LinkCheck } from "./links";
export {
  addAction,
  addJob,
  addJobToNewAction,
  addStage,
  deleteJob,
  deleteStage,
  emptyWorkflow,
  jobNameFor,
  moveJob,
  moveJobToNewAction,
  moveStage,
  renameAction,
  renameJob,
  renameRefusal,
  renameStage,
  setSequencing,
  updateJob,
  type ComponentChoice,
} from "./edits";
export { workflowToGraph } from "./toGraph";
export { PLATFORMS, isPlatform, jobPlatform, platformLabel, platformNamed, type PlatformShown } from "./platform";
export { graphToWorkflow } from "./fromGraph";
export { locateProblem, problemsByNode, type ProblemLocation } from "./problems";
export { workflowToYaml, yamlToWorkflow } from "./yaml";
export { absolutePositions } from "./geometry";
export { findJob, type JobPlace } from "./places";
export { describeValue, type PortValue, type PortValueKind } from "./values";
export { MAX_INSTANCES, allowedFailures, countText, expand, instanceCount, isFanOut, valueText, type Instance } from "./fanout";
