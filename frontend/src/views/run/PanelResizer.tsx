import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type RefObject } from "react";
import {
  clampPanelWidth,
  PANEL_STEP,
  rememberedPanelWidth,
  rememberPanelWidth,
  widthAtPointer,
} from "./panelWidth";

/**
 * The side panel's width, and the handle on its left edge that changes it: drag it, or
 * focus it and press the arrow keys (Home and End: narrowest and widest). `container` is the
 * element the panel sits at the right end of.
 */
export function usePanelWidth(container: RefObject<HTMLElement | null>) {
  const [width, setWidth] = useState(rememberedPanelWidth);
  const available = useCallback(() => container.current?.clientWidth ?? window.innerWidth, [container]);

  // A window made narrower narrows a panel that no longer fits.
  useEffect(() => {
    const fit = () => setWidth((current) => clampPanelWidth(current, available()));
    fit();
    window.addEventListener("resize", fit);
    return () => window.removeEventListener("resize", fit);
  }, [available]);

  const change = useCallback(
    (next: number) => {
      const kept = clampPanelWidth(next, available());
      setWidth(kept);
      rememberPanelWidth(kept);
    },
    [available],
  );
  return { width, change, available };
}

export function PanelResizer({
  width,
  change,
  container,
}: {
  width: number;
  change: (width: number) => void;
  container: RefObject<HTMLElement | null>;
}) {
  const dragging = useRef(false);

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = true;
    event.currentTarget.setPointerCapture(event.pointerId);
    event.preventDefault();
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = container.current?.getBoundingClientRect();
    if (!dragging.current || !box) return;
    change(widthAtPointer(event.clientX, box.right, box.width));
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = false;
    event.currentTarget.releasePointerCapture(event.pointerId);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, number> = {
      ArrowLeft: width + PANEL_STEP,
      ArrowRight: width - PANEL_STEP,
      Home: 0,
      End: Number.MAX_SAFE_INTEGER,
    };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    change(next);
  };

  return (
    <div
      className="panel-resizer"
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the panel (arrow keys)"
      aria-valuenow={width}
      tabIndex={0}
      data-testid="panel-resizer"
      title="Drag to resize"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onKeyDown={onKeyDown}
    />
  );
}
