// How times and durations read in every view.

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long something took, or has been going on for when it has not finished. */
export function elapsed(started: number | null | undefined, finished: number | null | undefined, now: number): string {
  if (!started) return "";
  return formatDuration((finished ?? now) - started);
}

/**
 * A moment with its date, always ("1 Dec 2026, 15:28:09" in en-GB): lists hold runs of many
 * days. `locale` and `timeZone` default to the browser's.
 */
export function formatDateTime(seconds: number | null | undefined, locale?: string, timeZone?: string): string {
  if (!seconds || !Number.isFinite(seconds)) return "";
  return new Intl.DateTimeFormat(locale, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZone,
  }).format(new Date(seconds * 1000));
}

/** How long ago, in the largest unit that fits: "just now", "5 min ago", "3 h ago", "2 days ago". */
export function formatAgo(seconds: number | null | undefined, now: number): string {
  if (!seconds || !Number.isFinite(seconds)) return "";
  const past = Math.max(0, now - seconds);
  if (past < 45) return "just now";
  if (past < 3600) return `${Math.max(1, Math.round(past / 60))} min ago`;
  if (past < 86_400) return `${Math.round(past / 3600)} h ago`;
  const days = Math.round(past / 86_400);
  return days === 1 ? "1 day ago" : `${days} days ago`;
}

export function formatTime(seconds: number | null | undefined): string {
  if (!seconds) return "";
  const date = new Date(seconds * 1000);
  const today = new Date();
  const time = date.toLocaleTimeString(undefined, { hour12: false });
  return date.toDateString() === today.toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

const FINAL = new Set(["succeeded", "failed", "cancelled", "skipped", "reused"]);

export function isFinal(status: string): boolean {
  return FINAL.has(status);
}
