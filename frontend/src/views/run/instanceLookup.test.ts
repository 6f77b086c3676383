import { describe, expect, it } from "vitest";
import type { InstanceDocument, InstancePage, InstanceState } from "../../api/types";
import { findInstance, instanceAttempts, parseInstanceName, type PageReader } from "./instanceLookup";

const instance = (index: number, status: InstanceState): InstanceDocument => ({
  index,
  key: `test.${index}`,
  values: {},
  shard: null,
  status,
  reason: "",
  attempts: 2,
  exit_code: 1,
  started_at: 10,
  finished_at: 20,
  outputs: null,
});

/** A server of `count` instances, every third failed, in pages of `limit`; it counts the requests. */
function server(count: number) {
  const all = Array.from({ length: count }, (_, index) => instance(index, index % 3 === 0 ? "failed" : "succeeded"));
  const asked: string[] = [];
  const read: PageReader = async ({ state, cursor, limit }) => {
    asked.push(`${state?.includes(",") ? "all" : state}@${cursor ?? 0}`);
    const chosen = state && !state.includes(",") ? all.filter((item) => item.status === state) : [...all].sort((a, b) => Number(b.status === "failed") - Number(a.status === "failed") || a.index - b.index);
    const from = Number(cursor ?? 0);
    const page: InstancePage = { instances: chosen.slice(from, from + limit), next_cursor: from + limit < chosen.length ? String(from + limit) : null };
    return page;
  };
  return { read, asked };
}

describe("an instance named by the address", () => {
  it("is a group and an index", () => {
    expect(parseInstanceName("test.3")).toEqual({ group: "test", index: 3 });
    expect(parseInstanceName("test")).toBeUndefined();
    expect(parseInstanceName("test.x")).toBeUndefined();
    expect(parseInstanceName(undefined)).toBeUndefined();
  });

  it("is found in the pages of the state it was last seen in first", async () => {
    const { read, asked } = server(3_000);
    const found = await findInstance(read, 2_997, "failed", 3_000);
    expect(found?.index).toBe(2_997);
    expect(asked).toEqual(["failed@0", "failed@500"]);
  });

  it("is looked for in every page when it is not in the state it was seen in", async () => {
    const { read, asked } = server(1_200);
    const found = await findInstance(read, 1, "failed", 1_200);
    expect(found?.status).toBe("succeeded");
    expect(asked).toEqual(["failed@0", "all@0"]);
  });

  it("is undefined when no page holds it", async () => {
    const { read } = server(10);
    expect(await findInstance(read, 99, undefined, 10)).toBeUndefined();
  });

  it("shows attempts 1..n when the server lists none, the last in the instance's state", () => {
    const attempts = instanceAttempts(instance(3, "failed"));
    expect(attempts.map((a) => [a.number, a.status, a.exit_code])).toEqual([
      [1, "failed", null],
      [2, "failed", 1],
    ]);
  });
});
