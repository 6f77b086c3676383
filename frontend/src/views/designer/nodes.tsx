import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useRef, useState } from "react";
import type { JobDocument, Problem } from "../../api/types";
import { MAX_INSTANCES, countText, platformLabel, type ActionNodeData, type JobNodeData, type PlatformShown, type StageNodeData } from "../../graph";
import { elapsed } from "../../ui/format";
import { SLUG, ruleProblem } from "../../ui/rules";
import { FanOutBar } from "../run/FanOutBar";
import { progressWords } from "../run/fanoutBar";
import { useCanvas } from "./canvasContext";

// Every name, reference and message below is rendered as React text: never as HTML.

function ProblemBadge({ problems }: { problems: Problem[] }) {
  if (problems.length === 0) return null;
  return (
    <span className="problem-badge" data-testid="problem-badge" title={problems.map((p) => p.message).join("\n")}>
      {problems.length}
    </span>
  );
}

/** Where the job runs on AWS, the job's own choice or its workflow's (shown fainter). */
function PlatformTag({ platform }: { platform: PlatformShown | undefined }) {
  if (!platform) return null;
  const label = platformLabel(platform.name);
  const whose = platform.from === "job" ? "this job's choice" : "the workflow's choice";
  return (
    <span
      className={`platform-tag${platform.from === "workflow" ? " inherited" : ""}`}
      data-testid="platform-tag"
      title={`On AWS it runs on ${label} (${whose}); locally on Docker`}
    >
      {label}
    </span>
  );
}

/**
 * A name shown as text; double-click edits it when the canvas is editable. Each keystroke
 * renames (a blank name is not applied), Enter or leaving the field ends, Escape puts the
 * name back. `nopan` keeps the canvas from taking the double-click as a zoom: React Flow's
 * zoom handler would otherwise swallow the event before React sees it. A stage's or an
 * action's name has a rule (lower-case letters, digits and '-'): a name that breaks it says
 * so in words under the field as it is typed.
 */
function InlineName({ name, label, className, onRename }: { name: string; label: string; className: string; onRename?: (name: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(name);
  const original = useRef(name);
  if (editing && onRename) {
    const broken = ruleProblem(SLUG, text.trim());
    return (
      <span className="inline-editing">
      <input
        className={`nodrag nopan inline-name${broken ? " invalid" : ""}`}
        aria-label={label}
        aria-invalid={broken ? true : undefined}
        title={`Use ${SLUG.words}`}
        value={text}
        autoFocus
        onChange={(event) => {
          setText(event.target.value);
          const typed = event.target.value.trim();
          if (typed && typed !== name) onRename(typed);
        }}
        onBlur={() => setEditing(false)}
        onKeyDown={(event) => {
          if (event.key === "Enter") (event.target as HTMLInputElement).blur();
          if (event.key === "Escape") {
            if (original.current !== name) onRename(original.current);
            setEditing(false);
          }
        }}
      />
      {broken && (
        <span className="inline-rule" role="alert" data-testid="inline-rule">
          {broken}
        </span>
      )}
      </span>
    );
  }
  return (
    <span
      className={`${className}${onRename ? " nopan renamable" : ""}`}
      title={onRename ? "double-click to rename" : undefined}
      onDoubleClick={(event) => {
        if (!onRename) return;
        event.stopPropagation();
        original.current = name;
        setText(name);
        setEditing(true);
      }}
    >
      {name}
    </span>
  );
}

/** A fan-out job's row: in a run, its instances' progress; in the designer, how it fans out. */
function FanOutRow({ data, state }: { data: JobNodeData; state: JobDocument | undefined }) {
  if (state?.fan_out) {
    return (
      <div className="job-fan-out" data-testid="fan-out-progress">
        <FanOutBar summary={state.fan_out} />
        <span className="fan-out-words">{progressWords(state.fan_out)}</span>
      </div>
    );
  }
  const { job } = data;
  const settings = [
    job.shards !== undefined ? `${String(job.shards)} shards` : "",
    job.max_parallel !== undefined ? `≤ ${String(job.max_parallel)} at once` : "",
    job.fail_fast === false ? "runs all" : "fail fast",
    job.allowed_failures !== undefined ? `${String(job.allowed_failures)} may fail` : "",
  ].filter(Boolean);
  return (
    <div className="job-fan-out muted" data-testid="fan-out-settings">
      {settings.join(" · ")}
    </div>
  );
}

/** "× 8": how many instances the job runs, marked when over the limit. */
function InstanceTag({ count }: { count: number | undefined }) {
  if (count === undefined) return null;
  const over = count > MAX_INSTANCES;
  return (
    <span
      className={`fan-out-tag${over ? " over" : ""}`}
      data-testid="fan-out-tag"
      data-count={count}
      title={over ? `${countText(count)} instances: over the limit of ${countText(MAX_INSTANCES)}` : `runs as ${countText(count)} instances`}
    >
      × {countText(count)}
    </span>
  );
}

export const JobNode = memo(function JobNode({ data, selected }: NodeProps & { data: JobNodeData }) {
  const canvas = useCanvas();
  const state = canvas.jobStates?.get(data.job.name);
  const status = state?.status ?? (canvas.editable ? undefined : "pending");
  return (
    <div
      className={`job-node${selected ? " selected" : ""}${status ? ` job-${status}` : ""}${
        data.problems.length ? " has-problems" : ""
      }`}
      data-testid="job-node"
      data-job={data.job.name}
      data-status={status}
    >
      <div className="job-title">
        <span className="job-name">{data.label}</span>
        <InstanceTag count={data.instances} />
        <PlatformTag platform={data.platform} />
        <ProblemBadge problems={data.problems} />
      </div>
      <div className="job-component">{data.component ?? data.job.image ?? ""}</div>
      {state && (
        <div className="job-state">
          <span className={`status status-${state.status}`}>{state.status}</span>{" "}
          <span className="muted">{elapsed(state.started_at, state.finished_at, canvas.now ?? Date.now() / 1000)}</span>
        </div>
      )}
      {data.instances !== undefined && <FanOutRow data={data} state={state} />}
      <div className="ports">
        <div className="port-column">
          {data.inputs.map((port) => (
            <div
              key={port.field}
              className={`port port-in${port.linked ? " linked" : ""}${port.conflict ? " conflict" : ""}`}
              title={port.conflict ? "fed by more than one link" : port.field}
            >
              <Handle type="target" position={Position.Left} id={`in:${port.field}`} isConnectable={canvas.editable} />
              <span className="port-label">
                {port.name}
                {port.required ? "*" : ""}
                {port.value && (
                  <span
                    className={`port-value value-${port.value.kind}`}
                    data-testid="port-value"
                    data-kind={port.value.kind}
                    title={port.value.kind === "default" ? `the component's default: ${port.value.written}` : port.value.written}
                  >
                    {port.value.text}
                  </span>
                )}
              </span>
            </div>
          ))}
        </div>
        <div className="port-column out">
          {data.outputs.map((port) => (
            <div key={port.name} className={`port port-out${port.linked ? " linked" : ""}`}>
              <span>{port.name}</span>
              <Handle type="source" position={Position.Right} id={`out:${port.name}`} isConnectable={canvas.editable} />
            </div>
          ))}
        </div>
      </div>
    </div>
  );
});

export const StageNode = memo(function StageNode({ data }: NodeProps & { data: StageNodeData }) {
  const canvas = useCanvas();
  const index = data.index;
  return (
    <div className="stage-node" data-testid="stage-node" data-stage={data.name}>
      <Handle type="target" position={Position.Left} isConnectable={false} className="flow-handle" />
      <Handle type="source" position={Position.Right} isConnectable={false} className="flow-handle" />
      <div className="stage-header">
        <InlineName
          name={data.name}
          label="Stage name"
          className="stage-name"
          onRename={canvas.editable ? (name) => canvas.renameStage?.(index, name) : undefined}
        />
        <ProblemBadge problems={data.problems} />
        {canvas.editable && (
          <span className="stage-tools nodrag">
            <button
              title="Actions run in parallel or one after another"
              onClick={() => canvas.toggleSequencing?.(index)}
              data-testid="stage-sequencing"
            >
              {data.sequencing === "sequence" ? "in sequence" : "in parallel"}
            </button>
            <button title="Move left" disabled={index === 0} onClick={() => canvas.moveStage?.(index, index - 1)}>
              ←
            </button>
            <button
              title="Move right"
              disabled={index >= canvas.stageCount - 1}
              onClick={() => canvas.moveStage?.(index, index + 1)}
            >
              →
            </button>
            <button title="Delete stage" onClick={() => canvas.deleteStage?.(index)} data-testid="stage-delete">
              ×
            </button>
          </span>
        )}
      </div>
      {canvas.editable && (
        <button className="add-action nodrag" onClick={() => canvas.addAction?.(index)}>
          + action
        </button>
      )}
    </div>
  );
});

export const ActionNode = memo(function ActionNode({ data }: NodeProps & { data: ActionNodeData }) {
  const canvas = useCanvas();
  return (
    <div className="action-node" data-testid="action-node" data-action={data.name}>
      <InlineName
        name={data.name}
        label="Action name"
        className="action-name"
        onRename={canvas.editable ? (name) => canvas.renameAction?.(data.stage, data.index, name) : undefined}
      />
      <ProblemBadge problems={data.problems} />
    </div>
  );
});

export function TriggerNode() {
  return (
    <div className="terminal-node trigger-node">
      trigger
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

export function EndNode() {
  return (
    <div className="terminal-node end-node">
      <Handle type="target" position={Position.Left} isConnectable={false} />
      end
    </div>
  );
}

export const NODE_TYPES = { job: JobNode, stage: StageNode, action: ActionNode, trigger: TriggerNode, end: EndNode };
