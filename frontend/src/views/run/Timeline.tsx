// The run's jobs on a time axis (the layout is timeline.ts's): a row per job grouped by
// stage, a bar per attempt, marks for jobs that did not run here, and ticks with grid lines;
// a fan-out job is one row whose one bar is split by its instances' states (FanOutBar's).
// Drawn as HTML positioned in percent, so the bars follow the panel's width without being
// measured; a click on a row selects its job, a click on an attempt's bar that attempt.

import type { JobDocument } from "../../api/types";
import { formatDateTime, formatDuration } from "../../ui/format";
import { barSegments, progressWords } from "./fanoutBar";
import { layoutTimeline, type TimelineRow, type TimelineSegment } from "./timeline";

export interface TimelineProps {
  jobs: JobDocument[];
  created: number | null;
  started: number | null;
  finished: number | null;
  now: number;
  /** The stages' names by index, from the definition the run ran (absent: "stage N"). */
  stageNames: string[];
  selected: string | undefined;
  onSelect: (job: string, attempt?: number) => void;
}

const KIND_WORDS: Record<string, string> = { queued: "waiting for its container", "retry-wait": "waiting to retry" };

export function Timeline({ jobs, created, started, finished, now, stageNames, selected, onSelect }: TimelineProps) {
  const layout = layoutTimeline({ jobs, created, started, finished, now });
  const lastTick = layout.ticks.length - 1;
  return (
    <div className="timeline" data-testid="timeline">
      <div className="timeline-head">
        <span className="timeline-label muted">Job</span>
        <div className="timeline-track timeline-axis" data-testid="timeline-axis">
          {layout.ticks.map((tick, index) => (
            <span
              key={tick.offset}
              className={`timeline-tick${index === 0 ? " first" : ""}${index === lastTick && tick.left > 90 ? " last" : ""}`}
              style={{ left: `${tick.left}%` }}
              title={formatDateTime(layout.start + tick.offset)}
              data-testid="timeline-tick"
            >
              {tick.label}
            </span>
          ))}
        </div>
        <span className="timeline-duration muted">Took</span>
      </div>
      <div className="timeline-body">
        <div className="timeline-grid" aria-hidden="true">
          {layout.ticks.map((tick) => (
            <span key={tick.offset} className="timeline-gridline" style={{ left: `${tick.left}%` }} />
          ))}
          {layout.now !== null && <span className="timeline-now" style={{ left: `${layout.now}%` }} title="now" />}
        </div>
        {layout.stages.map((stage) => (
          <div className="timeline-stage" key={stage.stage} role="group" aria-label={stageNames[stage.stage] ?? `stage ${stage.stage + 1}`}>
            <div className="timeline-stage-name">{stageNames[stage.stage] ?? `stage ${stage.stage + 1}`}</div>
            {layout.rows.slice(stage.first, stage.first + stage.count).map((row) => (
              <Row key={row.job} row={row} selected={row.job === selected} onSelect={onSelect} />
            ))}
          </div>
        ))}
        {layout.rows.length === 0 && <p className="muted timeline-empty">No jobs.</p>}
      </div>
    </div>
  );
}

function Row({ row, selected, onSelect }: { row: TimelineRow; selected: boolean; onSelect: TimelineProps["onSelect"] }) {
  return (
    <div
      className={`timeline-row${selected ? " selected" : ""}`}
      data-testid="timeline-row"
      data-job={row.job}
      data-status={row.status}
      data-mark={row.mark}
      aria-current={selected ? "true" : undefined}
      onClick={() => onSelect(row.job)}
    >
      <button type="button" className="timeline-label timeline-name" title={row.job} onClick={(event) => { event.stopPropagation(); onSelect(row.job); }}>
        {row.job}
      </button>
      <div className="timeline-track">
        {row.segments.map((segment, index) => (
          <Bar key={index} job={row.job} segment={segment} row={row} onSelect={onSelect} />
        ))}
        {row.mark !== "bars" && row.at !== null && (
          <span className={`timeline-mark mark-${row.mark}${row.at > 70 ? " flip" : ""}`} style={{ left: `${row.at}%` }} data-testid="timeline-mark">
            <span className="timeline-mark-label">{row.mark}</span>
          </span>
        )}
      </div>
      <span className="timeline-duration muted">{row.duration === null ? row.status : formatDuration(row.duration)}</span>
    </div>
  );
}

function Bar({ job, segment, row, onSelect }: { job: string; segment: TimelineSegment; row: TimelineRow; onSelect: TimelineProps["onSelect"] }) {
  const took = formatDuration(segment.end - segment.start);
  const when = `${formatDateTime(segment.start)} – ${segment.open ? "now" : formatDateTime(segment.end)}`;
  const what =
    segment.kind === "attempt"
      ? `attempt ${segment.attempt}: ${segment.status}`
      : segment.kind === "fan-out" && row.fanOut
        ? progressWords(row.fanOut)
        : KIND_WORDS[segment.kind];
  return (
    <span
      className={`timeline-bar kind-${segment.kind} tl-${segment.status}${segment.open ? " open" : ""}`}
      style={{ left: `${segment.left}%`, width: `${segment.width}%` }}
      title={`${job} · ${what} · ${took} (${when})`}
      data-testid={segment.kind === "attempt" ? "timeline-bar" : segment.kind === "fan-out" ? "timeline-fan-out" : "timeline-wait"}
      data-attempt={segment.attempt}
      data-status={segment.status}
      onClick={
        segment.attempt === undefined
          ? undefined
          : (event) => {
              event.stopPropagation();
              onSelect(job, segment.attempt);
            }
      }
    >
      {segment.kind === "fan-out" &&
        row.fanOut &&
        barSegments(row.fanOut).map((part) => (
          <span
            key={part.state}
            className={`fan-out-segment fo-${part.state}`}
            data-state={part.state}
            data-count={part.count}
            style={{ left: `${part.left}%`, width: `${part.width}%` }}
          />
        ))}
    </span>
  );
}
