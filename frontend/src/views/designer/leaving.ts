// Whether a click on a link leaves the designer, so that unsaved changes are asked about
// first. Only the app's own links are caught (hash routes): a reload, or a link to another
// site, is the browser's `beforeunload` question. A link that opens elsewhere (a new tab, a
// download, a modified or middle click) leaves the draft where it is, and is let through.
// Decision: the browser's back and forward buttons are not caught (the issue asks for the
// app's links; a hash change cannot be cancelled, only undone after the view is gone).
import { parseRoute } from "../../routing";

export interface LinkClick {
  href: string | null; // the link's href attribute as written
  target: string | null;
  download: boolean;
  button: number;
  modified: boolean; // Ctrl, Cmd, Shift or Alt held
}

/** The hash the click goes to when it leaves the designer of `namespace/name`, else undefined. */
export function leavesDesigner(click: LinkClick, namespace: string, name: string): string | undefined {
  if (click.button !== 0 || click.modified || click.download) return undefined;
  if (click.target && click.target !== "_self") return undefined;
  const href = click.href;
  if (!href || !href.startsWith("#")) return undefined;
  const route = parseRoute(href);
  if (route.view === "designer" && route.namespace === namespace && route.name === name) return undefined;
  return href;
}
