// How wide the run view's side panel (job details and logs) is: dragged by its edge or set
// with the arrow keys, kept between a width that still reads and one that leaves the graph
// some room, remembered across visits.
//
// Pure, but for the two functions that read and write the remembered width.

/** Narrower than this, log lines and outputs no longer read. */
export const MIN_PANEL_WIDTH = 360;
/** The graph keeps at least this much of the window. */
export const MIN_GRAPH_WIDTH = 240;
/** Without a remembered width: room for a log line of about 100 characters. */
export const DEFAULT_PANEL_WIDTH = 720;
/** What one press of an arrow key changes. */
export const PANEL_STEP = 40;
const KEY = "containerops.runPanelWidth";

/** `width` kept within what the window allows (`available`: the width of the whole view). */
export function clampPanelWidth(width: number, available: number): number {
  const widest = Math.max(MIN_PANEL_WIDTH, available - MIN_GRAPH_WIDTH);
  if (!Number.isFinite(width)) return Math.min(DEFAULT_PANEL_WIDTH, widest);
  return Math.round(Math.min(widest, Math.max(MIN_PANEL_WIDTH, width)));
}

/** The width the panel had when its left edge is dragged to `pointerX` (the view ends at `right`). */
export function widthAtPointer(pointerX: number, right: number, available: number): number {
  return clampPanelWidth(right - pointerX, available);
}

export function rememberedPanelWidth(): number {
  try {
    const saved = Number(localStorage.getItem(KEY));
    return saved > 0 ? saved : DEFAULT_PANEL_WIDTH;
  } catch {
    return DEFAULT_PANEL_WIDTH;
  }
}

export function rememberPanelWidth(width: number): void {
  try {
    localStorage.setItem(KEY, String(Math.round(width)));
  } catch {
    // nothing kept: the width lasts for this page
  }
}
