// A fan-out job's progress bar (fanoutBar.ts's segments), shared by the graph's group node
// and the timeline's row. Each segment's state is a class coloured by the theme's variables.

import type { FanOutSummary } from "../../api/types";
import { barSegments, countsWords, progressWords } from "./fanoutBar";

export function FanOutBar({ summary, className = "" }: { summary: FanOutSummary; className?: string }) {
  return (
    <span
      className={`fan-out-bar ${className}`}
      data-testid="fan-out-bar"
      role="img"
      aria-label={progressWords(summary)}
      title={`${progressWords(summary)} (${countsWords(summary)})`}
    >
      {barSegments(summary).map((segment) => (
        <span
          key={segment.state}
          className={`fan-out-segment fo-${segment.state}`}
          data-state={segment.state}
          data-count={segment.count}
          style={{ left: `${segment.left}%`, width: `${segment.width}%` }}
        />
      ))}
    </span>
  );
}
