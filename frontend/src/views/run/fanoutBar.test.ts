import { describe, expect, it } from "vitest";
import { barSegments, countsWords, finishedCount, progressWords } from "./fanoutBar";

describe("a fan-out job's progress bar", () => {
  it("splits the bar by state, finished first, then running, then pending", () => {
    const segments = barSegments({ instances: 10, counts: { pending: 2, running: 3, failed: 1, succeeded: 4 } });
    expect(segments.map((s) => [s.state, s.count, s.left, s.width])).toEqual([
      ["succeeded", 4, 0, 40],
      ["failed", 1, 40, 10],
      ["running", 3, 50, 30],
      ["pending", 2, 80, 20],
    ]);
  });

  it("makes up pending from what the other counts leave when the server does not give it", () => {
    const segments = barSegments({ instances: 1_000, counts: { succeeded: 250 } });
    expect(segments.map((s) => [s.state, s.count])).toEqual([
      ["succeeded", 250],
      ["pending", 750],
    ]);
  });

  it("shows what a group that ended never started, before what runs", () => {
    const summary = { instances: 10, counts: { succeeded: 2, failed: 1, not_started: 7, running: 0, pending: 0 } };
    expect(barSegments(summary).map((s) => s.state)).toEqual(["succeeded", "failed", "not_started"]);
    expect(progressWords(summary)).toBe("3 of 10 done · 1 failed · 7 not started");
  });

  it("draws nothing for a job with no instances, and divides by nothing", () => {
    expect(barSegments({ instances: 0, counts: {} })).toEqual([]);
  });

  it("says how many are done, failed and running", () => {
    const summary = { instances: 10_000, counts: { succeeded: 7_400, failed: 12, running: 8, pending: 2_580 } };
    expect(finishedCount(summary)).toBe(7_412);
    expect(progressWords(summary)).toBe("7,412 of 10,000 done · 12 failed · 8 running");
    expect(countsWords(summary)).toBe("succeeded 7,400, failed 12, running 8, pending 2,580");
  });
});
