// Downloading a job attempt's log as a text file: every line, as the server stores it
// (escape sequences kept, secrets masked), one per line. The lines are read afresh, page by
// page, rather than taken from the viewer, which may have let the oldest ones go; the same
// pages on both backends (CloudWatch's too), and no single answer holding the whole log.
//
// Pure logic with the request injected; `saveText` is the one DOM step.

import type { LogPage } from "../api/types";
import { LogFollower, type FetchPage } from "./follower";

/** The file's text: each line's text and a newline. */
export function logText(lines: readonly { readonly text: string }[]): string {
  return lines.map((line) => `${line.text}\n`).join("");
}

/** `<run>-<job>-attempt-<n>.log`, with anything but letters, digits, '.', '_' and '-' as '_'. */
export function logFileName(runId: string, job: string, attempt: number): string {
  const safe = (part: string) => part.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return `${safe(runId)}-${safe(job)}-attempt-${attempt}.log`;
}

/** Every line of the attempt so far, read page by page (no waiting for more). */
export async function readWholeLog(fetchPage: FetchPage, signal: AbortSignal): Promise<string> {
  const pages: LogPage[] = [];
  let failure: Error | undefined;
  const follower = new LogFollower({
    fetchPage,
    follow: false,
    onPage: (page) => pages.push(page),
    onError: (error) => {
      failure = error;
    },
    isRetryable: () => false, // a download the user waits for says at once that it failed
  });
  const outcome = await follower.run(signal);
  if (outcome === "failed") throw failure ?? new Error("the log could not be read");
  if (outcome === "aborted") throw new DOMException("the download was cancelled", "AbortError");
  return logText(pages.flatMap((page) => page.lines));
}

/** Hands `text` to the browser as a file download named `fileName`. */
export function saveText(text: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
