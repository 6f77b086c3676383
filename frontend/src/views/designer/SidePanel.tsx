import type { ReactNode } from "react";
import { PANEL_COLLAPSED_KEY, useRememberedFlag } from "./remembered";

/**
 * The designer's side panel (the workflow, the selected job or link), which the user may
 * collapse to a thin strip to give the canvas the room; the choice is remembered. Collapsed,
 * selecting a job does not open it again: the user asked for the room, and the strip's button
 * names what it holds.
 */
export function SidePanel({ title, children }: { title: string; children: ReactNode }) {
  const [collapsed, setCollapsed] = useRememberedFlag(PANEL_COLLAPSED_KEY);
  return (
    <aside className={`side-panel${collapsed ? " collapsed" : ""}`} data-testid="side-panel" data-collapsed={collapsed}>
      <button
        className="panel-toggle"
        data-testid="panel-toggle"
        aria-expanded={!collapsed}
        title={collapsed ? `Show the panel (${title})` : "Hide the panel: the canvas takes the room"}
        aria-label={collapsed ? `Show the panel (${title})` : "Hide the panel"}
        onClick={() => setCollapsed(!collapsed)}
      >
        {collapsed ? "‹" : "›"}
      </button>
      {collapsed ? (
        <span className="panel-collapsed-title" aria-hidden>
          {title}
        </span>
      ) : (
        children
      )}
    </aside>
  );
}
