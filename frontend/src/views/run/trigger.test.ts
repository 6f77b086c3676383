import { describe, expect, it } from "vitest";
import { describeTrigger } from "./trigger";

describe("what started a run", () => {
  it("says a run started through the API", () => {
    expect(describeTrigger({ type: "api" })).toEqual({
      type: "api",
      headline: "API",
      who: "the API (the designer, the CLI or a script)",
      fields: [],
      payload: null,
    });
  });

  it("gives a webhook's event, its sender and the fields a reader looks for first", () => {
    const push = {
      type: "webhook",
      zen: "Keep it logically awesome.",
      after: "b6aa706",
      ref: "refs/heads/main",
      event: "push",
      repository: { full_name: "team/app", private: true },
      sender: { login: "ana" },
      head_commit: { id: "b6aa706", message: "Fix the build" },
    };
    const view = describeTrigger(push);
    expect(view.headline).toBe("webhook push by ana");
    expect(view.who).toBe("ana");
    expect(view.fields).toEqual([
      ["event", "push"],
      ["ref", "refs/heads/main"],
      ["after", "b6aa706"],
      ["zen", "Keep it logically awesome."],
      ["repository", "team/app"],
      ["sender", "ana"],
      ["head commit", "b6aa706"],
      ["head commit message", "Fix the build"],
    ]);
    expect(JSON.parse(view.payload ?? "")).toEqual(push);
  });

  it("keeps a flat webhook body to its fields, without a payload to unfold", () => {
    const view = describeTrigger({ type: "webhook", event: "", ref: "v1.2", count: 3, draft: false, note: null });
    expect(view.headline).toBe("webhook");
    expect(view.fields).toEqual([
      ["ref", "v1.2"],
      ["count", "3"],
      ["draft", "false"],
      ["note", "null"],
    ]);
    expect(view.payload).toBeNull();
  });

  it("gives a schedule's cron and tick", () => {
    const view = describeTrigger({ type: "schedule", tick: "2026-12-01T03:00:00+00:00", cron: "0 3 * * *" });
    expect(view.headline).toBe("schedule 0 3 * * *");
    expect(view.who).toBe("the schedule");
    expect(view.fields).toEqual([
      ["cron", "0 3 * * *"],
      ["tick", "2026-12-01T03:00:00+00:00"],
    ]);
  });

  it("names the object or the branch of an event", () => {
    expect(describeTrigger({ type: "s3", bucket: "uploads", key: "builds/app.zip", size: 10, etag: "x" }).headline).toBe("S3 uploads/builds/app.zip");
    expect(describeTrigger({ type: "codecommit", repository: "app", branch: "main", commit: "abc", event: "referenceUpdated" }).fields).toEqual([
      ["repository", "app"],
      ["branch", "main"],
      ["commit", "abc"],
      ["event", "referenceUpdated"],
    ]);
  });

  it("says so when the run recorded no trigger", () => {
    expect(describeTrigger(undefined)).toMatchObject({ type: "", headline: "not recorded", fields: [] });
    expect(describeTrigger({})).toMatchObject({ headline: "not recorded" });
  });

  it("keeps markup as text", () => {
    const view = describeTrigger({ type: "webhook", event: "<img src=x onerror=alert(1)>" });
    expect(view.headline).toBe("webhook <img src=x onerror=alert(1)>");
  });
});
