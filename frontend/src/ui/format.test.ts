import { describe, expect, it } from "vitest";
import { elapsed, formatAgo, formatDateTime, formatDuration, isFinal } from "./format";

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

describe("moments", () => {
  it("are written with their date, whatever the day", () => {
    const at = Date.UTC(2026, 11, 1, 15, 28, 9) / 1000;
    expect(formatDateTime(at, "en-GB", "UTC")).toBe("1 Dec 2026, 15:28:09");
    expect(formatDateTime(at, "en-US", "UTC")).toBe("Dec 1, 2026, 15:28:09");
    expect(formatDateTime(null)).toBe("");
  });

  it("read as how long ago in the largest unit that fits", () => {
    const now = 1_800_000_000;
    expect(formatAgo(now - 10, now)).toBe("just now");
    expect(formatAgo(now - 300, now)).toBe("5 min ago");
    expect(formatAgo(now - 3 * 3600, now)).toBe("3 h ago");
    expect(formatAgo(now - 86_400, now)).toBe("1 day ago");
    expect(formatAgo(now - 9 * 86_400, now)).toBe("9 days ago");
    expect(formatAgo(now + 60, now)).toBe("just now"); // a clock a little ahead
    expect(formatAgo(undefined, now)).toBe("");
  });
});
