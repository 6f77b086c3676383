import { describe, expect, it } from "vitest";
import {
  CONCURRENCY,
  CONTAINER_PATH,
  CPU,
  CRON,
  DURATION_RULE,
  HOST_PATH,
  JOB_NAME,
  KEY,
  MEMORY_RULE,
  RETRIES,
  SLUG,
  TIMEOUT,
  ruleProblem,
  type Rule,
} from "./rules";
import models from "../../../chalicelib/domain/models.py?raw";

const ALL: Record<string, Rule> = { SLUG, JOB_NAME, KEY, DURATION_RULE, TIMEOUT, RETRIES, CONCURRENCY, CPU, MEMORY_RULE, CONTAINER_PATH, HOST_PATH, CRON };

// The server's words for its patterns, read from its source: the forms must say the same.
const serverWords = (pattern: string): string => {
  const match = new RegExp(`\\n    ${pattern}: \\(?((?:"[^"]*"\\s*)+)\\)?,`).exec(models);
  if (!match?.[1]) throw new Error(`no words for ${pattern} in models.py`);
  return [...match[1].matchAll(/"([^"]*)"/g)].map((part) => part[1]).join("");
};

describe("the rules of the forms, in words", () => {
  it("say what the server says of its patterns", () => {
    expect(serverWords("SLUG_PATTERN")).toBe(`use ${SLUG.words}`);
    expect(serverWords("JOB_NAME_PATTERN")).toBe(`use ${JOB_NAME.words}`);
    expect(serverWords("KEY_PATTERN")).toBe(`use ${KEY.words}`);
    expect(serverWords("ABSOLUTE_PATH_PATTERN")).toBe(`write ${CONTAINER_PATH.words}`);
  });

  it("never show a regular expression", () => {
    for (const [name, rule] of Object.entries(ALL)) {
      expect(rule.words, name).not.toMatch(/\^|\[[^\]]*-[^\]]*\]|\\[dswb]|\$$|\{\d+,\d*\}|\(\?/);
    }
  });

  it("say what is wrong with a bad name, as the user types it", () => {
    expect(ruleProblem(JOB_NAME, "-build")).toBe(
      "'-build' is not allowed here: use letters, digits, '_' and '-', starting with a letter or a digit, at most 63 characters",
    );
    expect(ruleProblem(SLUG, "My Stage")).toContain("lower-case letters, digits and '-'");
    expect(ruleProblem(KEY, "1st")).toContain("starting with a letter or '_'");
  });

  it("say nothing of an empty field or an allowed value", () => {
    expect(ruleProblem(JOB_NAME, "")).toBeUndefined();
    expect(ruleProblem(JOB_NAME, "build_2")).toBeUndefined();
    expect(ruleProblem(SLUG, "release-1")).toBeUndefined();
    expect(ruleProblem(KEY, "_private")).toBeUndefined();
  });

  it("allow what the server allows, and refuse what it refuses", () => {
    const cases: [Rule, string[], string[]][] = [
      [SLUG, ["a", "build-2", "x".repeat(63)], ["-a", "a-", "A", "a_b", "x".repeat(64)]],
      [JOB_NAME, ["Build", "2fast", "a_b-c"], ["_a", "a b", "x".repeat(64)]],
      [KEY, ["_x", "GIT_URL", "git-url"], ["1x", "a.b"]],
      [DURATION_RULE, ["90", "1.5", "30s", "1h30m", "500ms"], ["10 minutes", "m", "-5s"]],
      [TIMEOUT, ["10m", "1"], ["0", "0s", "soon"]],
      [RETRIES, ["0", "10"], ["11", "-1", "2.5", "two"]],
      [CONCURRENCY, ["1", "12"], ["0", "1.5", "many"]],
      [CPU, ["0.5", "2", ".25", "64"], ["0", "65", "half"]],
      [MEMORY_RULE, ["128Mi", "1Gi", "1000000", "1G"], ["128 MB", "lots"]],
      [CONTAINER_PATH, ["/data"], ["data"]],
      [HOST_PATH, ["/srv/cache", "${{ params.dir }}/x"], ["srv/cache"]],
      [CRON, ["0 3 * * *", "*/5 * * * 1-5"], ["daily", "0 3 * *"]],
    ];
    for (const [rule, allowed, refused] of cases) {
      for (const value of allowed) expect(rule.allows(value), `${rule.words}: ${value}`).toBe(true);
      for (const value of refused) expect(rule.allows(value), `${rule.words}: ${value}`).toBe(false);
    }
  });
});
