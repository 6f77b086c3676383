import { useEffect, useRef } from "react";
import { commandOf, keyPressOf, type Command } from "./shortcuts";

/** Calls `onCommand` for every shortcut pressed in the page while `active` (no dialog open). */
export function useShortcuts(onCommand: (command: Command) => void, active: boolean): void {
  const latest = useRef(onCommand);
  useEffect(() => {
    latest.current = onCommand;
  });
  useEffect(() => {
    if (!active) return;
    const listen = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing) return;
      const command = commandOf(keyPressOf(event));
      if (!command) return;
      event.preventDefault(); // Ctrl+S is not the browser's "save page"
      latest.current(command);
    };
    window.addEventListener("keydown", listen);
    return () => window.removeEventListener("keydown", listen);
  }, [active]);
}
