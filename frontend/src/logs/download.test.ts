import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { LogPage } from "../api/types";
import { logFileName, logText, readWholeLog } from "./download";

const page = (from: number, to: number, done = false): LogPage => ({
  lines: Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, time: 0, text: `line ${from + i}`, cout: false })),
  next_after: to,
  done,
});

describe("downloading a log", () => {
  it("is every line's text, one per line, escape sequences kept", () => {
    expect(logText([{ text: "\u001b[32mok\u001b[0m" }, { text: "" }, { text: "end" }])).toBe("\u001b[32mok\u001b[0m\n\nend\n");
    expect(logText([])).toBe("");
  });

  it("is named after the run, the job and the attempt, safely", () => {
    expect(logFileName("20261201-081715-8f5e10ab", "lint", 2)).toBe("20261201-081715-8f5e10ab-lint-attempt-2.log");
    expect(logFileName("r1", "<img src=x>/../x", 1)).toBe("r1-_img_src_x__.._x-attempt-1.log");
    expect(logFileName("r1", "..hidden", 1)).toBe("r1-_hidden-attempt-1.log");
  });

  it("reads every page from the first line, never waiting for more", async () => {
    const asked: [number, number, string][] = [];
    const pages = [page(1, 3), { ...page(4, 5), cursor: "c2" }, page(6, 6, true)];
    const text = await readWholeLog(async (after, follow, _signal, cursor) => {
      asked.push([after, follow, cursor]);
      const next = pages.shift();
      if (!next) throw new Error("read past the end");
      return next;
    }, new AbortController().signal);
    expect(text).toBe("line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n");
    expect(asked).toEqual([[0, 0, ""], [3, 0, ""], [5, 0, "c2"]]);
  });

  it("stops at an empty page of an attempt still running", async () => {
    const pages = [page(1, 2), { lines: [], next_after: 2, done: false }];
    const text = await readWholeLog(async () => pages.shift() ?? page(9, 9), new AbortController().signal);
    expect(text).toBe("line 1\nline 2\n");
  });

  it("fails at once with the server's reason", async () => {
    const refused = new ApiError(503, "unavailable", "the store is busy");
    await expect(readWholeLog(async () => Promise.reject(refused), new AbortController().signal)).rejects.toBe(refused);
  });
});
