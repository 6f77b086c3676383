import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { LogLine, LogPage } from "../api/types";
import { isRetryable, LogFollower, retryDelay, sleep, type FetchPage, type LogFollowerOptions } from "./follower";

function line(seq: number): LogLine {
  return { seq, time: 1_700_000_000 + seq, text: `line ${seq}`, cout: false };
}

function page(from: number, to: number, done = false, after = from - 1): LogPage {
  const lines: LogLine[] = [];
  for (let seq = from; seq <= to; seq++) lines.push(line(seq));
  return { lines, next_after: lines.length ? to : after, done };
}

interface Call {
  after: number;
  followSeconds: number;
}

/** A fake server: answers each request with the next scripted answer (a page or an error). */
function script(answers: (LogPage | Error | ((call: Call, signal: AbortSignal) => Promise<LogPage>))[]) {
  const calls: Call[] = [];
  const cursors: string[] = [];
  const fetchPage: FetchPage = async (after, followSeconds, signal, cursor) => {
    const call = { after, followSeconds };
    calls.push(call);
    cursors.push(cursor);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected request after=${after}`);
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer(call, signal);
    return answer;
  };
  return { calls, cursors, fetchPage };
}

function follower(fetchPage: FetchPage, options: Partial<LogFollowerOptions> = {}) {
  const received: LogLine[] = [];
  const pages: LogPage[] = [];
  const errors: [string, number | null][] = [];
  const pauses: number[] = [];
  const instance = new LogFollower({
    fetchPage,
    follow: false,
    onPage: (answer) => {
      pages.push(answer);
      received.push(...answer.lines);
    },
    onError: (error, retryInMs) => errors.push([error.message, retryInMs]),
    sleep: async (ms) => {
      pauses.push(ms);
    },
    random: () => 1,
    ...options,
  });
  return { instance, received, pages, errors, pauses };
}

const seqs = (lines: LogLine[]) => lines.map((entry) => entry.seq);
const unreachable = () => new ApiError(0, "unreachable", "the server cannot be reached");

describe("the log follower", () => {
  it("reads every existing page, then stops once a page comes back empty", async () => {
    const server = script([page(1, 3), page(4, 5), page(6, 5, false, 5)]);
    const { instance, received } = follower(server.fetchPage);
    expect(await instance.run(new AbortController().signal)).toBe("caught-up");
    expect(seqs(received)).toEqual([1, 2, 3, 4, 5]);
    expect(server.calls).toEqual([
      { after: 0, followSeconds: 0 },
      { after: 3, followSeconds: 0 },
      { after: 5, followSeconds: 0 },
    ]);
  });

  it("stops as soon as the server says the attempt is done", async () => {
    const server = script([page(1, 2), page(3, 4, true)]);
    const { instance, received, pages } = follower(server.fetchPage, { follow: true });
    expect(await instance.run(new AbortController().signal)).toBe("done");
    expect(seqs(received)).toEqual([1, 2, 3, 4]);
    expect(pages.at(-1)?.done).toBe(true);
    expect(server.calls).toHaveLength(2);
  });

  it("long-polls with follow=20 and keeps going until the attempt is done", async () => {
    const server = script([page(1, 2), page(3, 2, false, 2), page(3, 3), page(4, 3, true, 3)]);
    const { instance, received, pauses } = follower(server.fetchPage, { follow: true, idleMs: 500 });
    expect(await instance.run(new AbortController().signal)).toBe("done");
    expect(seqs(received)).toEqual([1, 2, 3]);
    expect(server.calls).toEqual([
      { after: 0, followSeconds: 20 },
      { after: 2, followSeconds: 20 },
      { after: 2, followSeconds: 20 },
      { after: 3, followSeconds: 20 },
    ]);
    expect(pauses).toEqual([500]); // a short pause after the long-poll that came back empty
  });

  it("never asks the server to wait longer than 20 seconds", async () => {
    const server = script([page(1, 1, true)]);
    const { instance } = follower(server.fetchPage, { follow: true, followSeconds: 60 });
    await instance.run(new AbortController().signal);
    expect(server.calls[0]?.followSeconds).toBe(20);
  });

  it("starts from the cursor it is given", async () => {
    const server = script([page(8, 9, true)]);
    const { instance, received } = follower(server.fetchPage, { after: 7 });
    await instance.run(new AbortController().signal);
    expect(server.calls[0]?.after).toBe(7);
    expect(seqs(received)).toEqual([8, 9]);
    expect(instance.after).toBe(9);
  });

  it("sends back the cursor of the page before, so the server goes on from where it stopped", async () => {
    const server = script([
      { ...page(1, 2), cursor: "after-2" },
      { ...page(3, 3), cursor: "after-3" },
      page(4, 4, true),
    ]);
    const { instance, pages } = follower(server.fetchPage, { follow: true });
    await instance.run(new AbortController().signal);
    expect(server.cursors).toEqual(["", "after-2", "after-3"]);
    expect(pages.map((answer) => answer.cursor)).toEqual(["after-2", "after-3", undefined]);
  });

  it("starts from the cursor it is given with its position, and asks again with it after a failure", async () => {
    const server = script([unreachable(), page(8, 8, true)]);
    const { instance } = follower(server.fetchPage, { after: 7, cursor: "after-7" });
    await instance.run(new AbortController().signal);
    expect(server.cursors).toEqual(["after-7", "after-7"]);
  });

  it("retries after a network error from where it was, without losing or repeating lines", async () => {
    const server = script([page(1, 3), unreachable(), unreachable(), page(4, 6), page(7, 7, true)]);
    const { instance, received, errors, pages } = follower(server.fetchPage, { follow: true });
    expect(await instance.run(new AbortController().signal)).toBe("done");
    expect(seqs(received)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(server.calls.map((call) => call.after)).toEqual([0, 3, 3, 3, 6]);
    expect(errors).toEqual([
      ["the server cannot be reached", 1000],
      ["the server cannot be reached", 2000],
    ]);
    expect(pages.map((answer) => answer.lines.length)).toEqual([3, 3, 1]);
  });

  it("drops lines a retried request sends again", async () => {
    const server = script([page(1, 3), page(2, 5), page(6, 6, true)]);
    const { instance, received } = follower(server.fetchPage);
    await instance.run(new AbortController().signal);
    expect(seqs(received)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("backs off exponentially, up to a bound, and starts over after a success", async () => {
    const failures = Array.from({ length: 7 }, () => unreachable());
    const server = script([...failures, page(1, 1), unreachable(), page(2, 2, true)]);
    const { instance, pauses } = follower(server.fetchPage, {
      follow: true,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    expect(await instance.run(new AbortController().signal)).toBe("done");
    expect(pauses).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 100]);
  });

  it("spreads its retries with jitter, never below half the pause", () => {
    expect(retryDelay(1, { initialMs: 1000, maxMs: 30_000 }, () => 0)).toBe(500);
    expect(retryDelay(1, { initialMs: 1000, maxMs: 30_000 }, () => 1)).toBe(1000);
    expect(retryDelay(3, { initialMs: 1000, maxMs: 30_000 }, () => 0.5)).toBe(3000);
    expect(retryDelay(500, { initialMs: 1000, maxMs: 30_000 }, () => 1)).toBe(30_000);
  });

  it("retries unreachable, busy and failing servers but gives up on a refused request", async () => {
    expect(isRetryable(unreachable())).toBe(true);
    expect(isRetryable(new ApiError(503, "unavailable", "busy"))).toBe(true);
    expect(isRetryable(new ApiError(429, "too_many", "slow down"))).toBe(true);
    expect(isRetryable(new ApiError(401, "unauthorized", "token"))).toBe(true);
    expect(isRetryable(new TypeError("failed to fetch"))).toBe(true);
    expect(isRetryable(new ApiError(404, "not_found", "no attempt 3"))).toBe(false);
    expect(isRetryable(new ApiError(400, "invalid", "bad"))).toBe(false);

    const server = script([new ApiError(404, "not_found", "job 'x' of run r has no attempt 3")]);
    const { instance, errors } = follower(server.fetchPage, { follow: true });
    expect(await instance.run(new AbortController().signal)).toBe("failed");
    expect(errors).toEqual([["job 'x' of run r has no attempt 3", null]]);
    expect(server.calls).toHaveLength(1);
  });

  it("stops when aborted during a long-poll, and uses no answer that comes after", async () => {
    const controller = new AbortController();
    let release: (answer: LogPage) => void = () => undefined;
    const server = script([
      page(1, 2),
      () =>
        new Promise<LogPage>((resolve) => {
          release = resolve;
        }),
    ]);
    const { instance, received } = follower(server.fetchPage, { follow: true });
    const running = instance.run(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.abort();
    release(page(3, 4));
    expect(await running).toBe("aborted");
    expect(seqs(received)).toEqual([1, 2]);
    expect(instance.after).toBe(2);
  });

  it("stops when its request is aborted and rejects with AbortError, without reporting an error", async () => {
    const controller = new AbortController();
    const server = script([
      (_call, signal) =>
        new Promise<LogPage>((_resolve, reject) => {
          signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    ]);
    const { instance, errors } = follower(server.fetchPage, { follow: true });
    const running = instance.run(controller.signal);
    controller.abort();
    expect(await running).toBe("aborted");
    expect(errors).toEqual([]);
  });

  it("stops when aborted while waiting to retry", async () => {
    const controller = new AbortController();
    const server = script([unreachable()]);
    const { instance } = follower(server.fetchPage, {
      follow: true,
      sleep: async () => controller.abort(),
    });
    expect(await instance.run(controller.signal)).toBe("aborted");
    expect(server.calls).toHaveLength(1);
  });

  it("does not start when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const server = script([]);
    const { instance } = follower(server.fetchPage, { follow: true });
    expect(await instance.run(controller.signal)).toBe("aborted");
    expect(server.calls).toHaveLength(0);
  });

  it("has a sleep that ends early, quietly, on abort", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(1, new AbortController().signal);
  });
});
