import type { GraphEdge, Link } from "../../graph";

/** The link a selected edge draws, in job names. */
export function linkOf(edge: GraphEdge): Link | undefined {
  if (edge.kind !== "link" || !edge.data) return undefined;
  const job = (nodeId: string) => nodeId.replace(/^job:/, "");
  return { source: job(edge.source), output: edge.data.output, target: job(edge.target), field: edge.data.field };
}

/** What a selected link carries, and the way to remove it. */
export function LinkPanel({ link, conflict, onRemove }: { link: Link; conflict: boolean; onRemove: () => void }) {
  return (
    <div className="link-panel" data-testid="link-panel">
      <h2>Link</h2>
      <p>
        Carries <code>{`${link.source}.outputs.${link.output}`}</code> into <code>{link.target}</code>'s{" "}
        <code>{link.field}</code>
      </p>
      {conflict && <p className="field-error">This input is fed by more than one link.</p>}
      <button className="danger" onClick={onRemove}>
        Remove link
      </button>
    </div>
  );
}
