import { useEffect, useRef } from "react";
import { leavesDesigner } from "./leaving";

/**
 * While `dirty`, a click on one of the app's links that would leave this designer is held
 * back and handed to `onAsk` with where it was going. The listener is on the document, in
 * the capture phase, so that it sees the header's links (outside the designer) first.
 */
export function useLeaveGuard(dirty: boolean, namespace: string, name: string, onAsk: (href: string) => void): void {
  const ask = useRef(onAsk);
  useEffect(() => {
    ask.current = onAsk;
  });
  useEffect(() => {
    if (!dirty) return;
    const listen = (event: MouseEvent) => {
      const anchor = event.target instanceof Element ? event.target.closest("a[href]") : null;
      if (!anchor) return;
      const href = leavesDesigner(
        {
          href: anchor.getAttribute("href"),
          target: anchor.getAttribute("target"),
          download: anchor.hasAttribute("download"),
          button: event.button,
          modified: event.ctrlKey || event.metaKey || event.shiftKey || event.altKey,
        },
        namespace,
        name,
      );
      if (href === undefined) return;
      event.preventDefault();
      event.stopPropagation();
      ask.current(href);
    };
    document.addEventListener("click", listen, true);
    return () => document.removeEventListener("click", listen, true);
  }, [dirty, namespace, name]);
}
