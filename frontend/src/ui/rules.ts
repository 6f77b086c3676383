// What a field of a definition allows, in words (issue 11, item 6): the forms say it as the
// user types, never as a regular expression. The words follow the server's (PATTERN_IN_WORDS
// in chalicelib/domain/models.py, and its duration, memory and cron messages), so the
// designer, the API and the CLI say the same thing; rules.test.ts holds them to it. The
// server stays the judge: these checks only say early what it would say on Check or Save.

export interface Rule {
  /** What is allowed, as a sentence's object: "use <words>". */
  words: string;
  allows: (value: string) => boolean;
}

const DURATION = /^(\d+(\.\d+)?|(\d+(\.\d+)?(ms|s|m|h|d))+)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T|k)?$/;

const seconds = (text: string): number => {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(match[1]) * (units[match[2] ?? "s"] ?? 1);
  return total;
};

/** A namespace, a workflow's name, a stage's or an action's. */
export const SLUG: Rule = {
  words: "lower-case letters, digits and '-' (not first or last), at most 63 characters",
  allows: (value) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(value),
};

export const JOB_NAME: Rule = {
  words: "letters, digits, '_' and '-', starting with a letter or a digit, at most 63 characters",
  allows: (value) => /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(value),
};

/** A param's name, a component input's or output's. */
export const KEY: Rule = {
  words: "letters, digits, '_' and '-', starting with a letter or '_', at most 128 characters",
  allows: (value) => /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(value),
};

export const DURATION_RULE: Rule = {
  words: "a number of seconds, or a duration written like 30s, 10m, 2h or 1h30m",
  allows: (value) => DURATION.test(value.trim()),
};

export const TIMEOUT: Rule = {
  words: "a duration longer than 0s, written like 30s, 10m, 2h or 1h30m (empty: the default)",
  allows: (value) => DURATION.test(value.trim()) && seconds(value.trim()) > 0,
};

export const RETRIES: Rule = {
  words: "a whole number from 0 to 10 (extra attempts after a failure)",
  allows: (value) => /^\d{1,2}$/.test(value.trim()) && Number(value) <= 10,
};

export const CONCURRENCY: Rule = {
  words: "a whole number, 1 or more (empty: no limit)",
  allows: (value) => /^\d+$/.test(value.trim()) && Number(value) >= 1,
};

export const CPU: Rule = {
  words: "a number of CPUs above 0 and at most 64, like 0.5 or 2",
  allows: (value) => /^\d*\.?\d+$/.test(value.trim()) && Number(value) > 0 && Number(value) <= 64,
};

export const MEMORY_RULE: Rule = {
  words: "a memory quantity written like 128Mi or 1Gi (or a number of bytes)",
  allows: (value) => MEMORY.test(value.trim()),
};

export const CONTAINER_PATH: Rule = {
  words: "an absolute path inside the container, starting with '/'",
  allows: (value) => value.startsWith("/"),
};

export const HOST_PATH: Rule = {
  words: "an absolute folder of this machine, starting with '/', or a param written ${{ params.NAME }}",
  allows: (value) => value.startsWith("/") || value.includes("${{"),
};

export const CRON: Rule = {
  words: "five fields: minute, hour, day of the month, month, day of the week (like 0 3 * * *, at 03:00 every day)",
  allows: (value) => value.trim().split(/\s+/).length === 5,
};

/** What to say under a field as it is typed: nothing while it is empty or allowed. */
export function ruleProblem(rule: Rule, value: string): string | undefined {
  if (value === "" || rule.allows(value)) return undefined;
  return `'${value}' is not allowed here: use ${rule.words}`;
}

// Fan-out (chalicelib/domain/fanout.py's limits: 10,000 instances a job).
export const SHARDS: Rule = {
  words: "a whole number from 1 to 10,000 (empty: no shards)",
  allows: (value) => /^\d{1,5}$/.test(value.trim()) && Number(value) >= 1 && Number(value) <= 10_000,
};

export const MAX_PARALLEL: Rule = {
  words: "a whole number, 1 or more (empty: as many at once as the machine allows)",
  allows: (value) => /^\d+$/.test(value.trim()) && Number(value) >= 1,
};

export const ALLOWED_FAILURES: Rule = {
  words: "a whole number of instances, or a percentage of them like 10% (empty: none)",
  // The server's PERCENTAGE_PATTERN (models.py), at most 100%.
  allows: (value) => /^\d+$/.test(value.trim()) || (/^(100|[0-9]{1,2})(\.[0-9]+)?%$/.test(value.trim()) && parseFloat(value) <= 100),
};

export const AXIS_VALUES: Rule = {
  words: "values separated by commas, each written once, like 3.11, 3.12",
  allows: (value) => {
    const values = value.split(",").map((item) => item.trim()).filter(Boolean);
    return values.length > 0 && new Set(values).size === values.length;
  },
};

export const MATRIX_ENTRY: Rule = {
  words: "axis=value pairs separated by commas, like python=3.13, os=linux",
  allows: (value) => value.split(",").every((pair) => pair.trim() === "" || /^\s*[^=\s][^=]*=/.test(pair)),
};
