// Choices about the designer's layout the browser keeps between visits: whether the side
// panel is collapsed, whether the minimap shows. A browser that refuses storage (a private
// window, a full quota) still works: the choice then lasts as long as the page.
import { useCallback, useState } from "react";

export const PANEL_COLLAPSED_KEY = "containerops.designer.panelCollapsed";
export const MINIMAP_HIDDEN_KEY = "containerops.designer.minimapHidden";

export function rememberedFlag(key: string): boolean {
  try {
    return localStorage.getItem(key) === "true";
  } catch {
    return false;
  }
}

export function rememberFlag(key: string, value: boolean): void {
  try {
    if (value) localStorage.setItem(key, "true");
    else localStorage.removeItem(key);
  } catch {
    // not kept: see above
  }
}

/** A yes/no choice of the user's, as state, remembered under `key`. */
export function useRememberedFlag(key: string): [boolean, (value: boolean) => void] {
  const [value, setValue] = useState(() => rememberedFlag(key));
  const change = useCallback(
    (next: boolean) => {
      setValue(next);
      rememberFlag(key, next);
    },
    [key],
  );
  return [value, change];
}
