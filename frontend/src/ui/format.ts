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
