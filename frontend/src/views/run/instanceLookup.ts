// An instance named by the address (`test.3`): which group and index the name says, where to
// find the instance among the pages of `GET …/jobs/{job}/instances`, and the attempts its
// details show. The API has no route for one instance: the lookup reads the pages of the
// state it was last seen in first (one page in the common case: a failed one, opened from
// the grid), then the pages of every state in the grid's order until it is found.
//
// Decisions: a name is an instance's when it ends in `.<digits>` and what comes before is a
// fan-out job of the run (a job name never holds a '.'); an instance whose attempts the
// server does not list shows attempts 1..`attempts`, the last one in the instance's state
// and the earlier ones as "failed" (an instance only tries again after a failure).

import type { AttemptDocument, InstanceDocument, InstancePage, InstanceState } from "../../api/types";
import { PAGE_LIMIT, requestedStates } from "./instanceGrid";

export interface InstanceName {
  group: string;
  index: number;
}

export function parseInstanceName(name: string | undefined): InstanceName | undefined {
  const match = name === undefined ? null : /^(.+)\.(\d{1,5})$/.exec(name);
  return match ? { group: match[1] as string, index: Number(match[2]) } : undefined;
}

// The state each instance was last seen in on this page (a cell clicked in the grid), so
// that its details read the pages of that state first.
const seen = new Map<string, InstanceState>();

export function noteSeen(runId: string, key: string, status: InstanceState): void {
  if (seen.size > 1_000) seen.clear(); // a hint, never a record: kept small
  seen.set(`${runId}/${key}`, status);
}

export const lastSeenOf = (runId: string, key: string): InstanceState | undefined => seen.get(`${runId}/${key}`);

export type PageReader = (page: { state?: string; cursor?: string | null; limit: number }) => Promise<InstancePage>;

/** The instance with this index, or undefined once every page was read without it. */
export async function findInstance(
  read: PageReader,
  index: number,
  lastSeen: InstanceState | undefined,
  most: number,
): Promise<InstanceDocument | undefined> {
  const search = async (state: string | undefined) => {
    let cursor: string | null = null;
    for (let pages = 0; pages <= Math.ceil(most / PAGE_LIMIT); pages += 1) {
      const page: InstancePage = await read({ state, cursor, limit: PAGE_LIMIT });
      const found = page.instances.find((item) => item.index === index);
      if (found) return found;
      // One state's pages are in index order: a page that went past the index means it is not in that state.
      if (state !== undefined && !state.includes(",") && page.instances.some((item) => item.index > index)) return undefined;
      cursor = page.next_cursor;
      if (cursor === null) return undefined;
    }
    return undefined;
  };
  return (lastSeen ? await search(lastSeen) : undefined) ?? (await search(requestedStates("")));
}

export function instanceAttempts(item: InstanceDocument): AttemptDocument[] {
  if (item.attempt_history?.length) return item.attempt_history;
  return Array.from({ length: Math.max(0, item.attempts) }, (_, at) => {
    const last = at === item.attempts - 1;
    return {
      number: at + 1,
      status: last ? item.status : "failed",
      exit_code: last ? item.exit_code : null,
      reason: last ? item.reason : "",
      started_at: last ? item.started_at : null,
      finished_at: last ? item.finished_at : null,
      log_truncated: false,
    };
  });
}
