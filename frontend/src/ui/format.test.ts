import { describe, expect, it } from "vitest";
import { elapsed, formatDuration, isFinal } from "./format";

describe("durations", () => {
  it("read in the largest sensible unit", () => {
    expect(formatDuration(0.25)).toBe("250 ms");
    expect(formatDuration(4.26)).toBe("4.3 s");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600 + 120)).toBe("3 h 2 min");
  });

  it("are empty when unknown or impossible", () => {
    expect(formatDuration(null)).toBe("");
    expect(formatDuration(-1)).toBe("");
    expect(formatDuration(Number.NaN)).toBe("");
  });

  it("of something still going on count up to now", () => {
    expect(elapsed(100, null, 130)).toBe("30 s");
    expect(elapsed(100, 110, 130)).toBe("10 s");
    expect(elapsed(null, null, 130)).toBe("");
  });
});

describe("states", () => {
  it("that are final include skipped and reused jobs", () => {
    expect(["succeeded", "failed", "cancelled", "skipped", "reused"].every(isFinal)).toBe(true);
    expect(["queued", "pending", "running"].some(isFinal)).toBe(false);
  });
});
