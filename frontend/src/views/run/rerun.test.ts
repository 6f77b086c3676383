import { describe, expect, it } from "vitest";
import { canRerun, canRerunFailed, rerunScopeLabel } from "./rerun";

describe("re-running a run", () => {
  it("is offered for every finished run, from its failures only for a failed or cancelled one", () => {
    expect((["queued", "running", "succeeded", "failed", "cancelled"] as const).map((status) => [canRerun(status), canRerunFailed(status)])).toEqual([
      [false, false],
      [false, false],
      [true, false],
      [true, true],
      [true, true],
    ]);
  });

  it("says what a re-run ran again", () => {
    expect(rerunScopeLabel({ scope: "failed" })).toBe("failed jobs");
    expect(rerunScopeLabel({ scope: "all" })).toBe("all jobs");
    expect(rerunScopeLabel({ scope: "jobs", jobs: ["build"] })).toBe("jobs build");
    expect(rerunScopeLabel({ scope: "jobs", jobs: ["build", "test"] })).toBe("jobs build, test");
  });

  it("reads a re-run recorded without a scope as one from failure", () => {
    expect(rerunScopeLabel(null)).toBe("failed jobs");
    expect(rerunScopeLabel(undefined)).toBe("failed jobs");
  });
});
