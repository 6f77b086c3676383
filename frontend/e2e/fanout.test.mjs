// A fan-out job on the run page (issue 12), with what the server does today: a job of 10,000
// shards whose `if` is false ends skipped without starting any instance, so the run page has
// a group of 10,000 instances (all "not started") and needs no container. It checks the group
// node's counts and bar, the one timeline row, the grid of 10,000 cells drawn under 2 s, its
// filter, and a cell opening its instance at `#/run/<ns>/<run>/test.<i>`.
//
// The instances that really run (failed first, their logs, the bar as it fills) are in
// fanout.run.test.mjs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { call } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "fanrun";
const SHARDS = 10_000;
let server;
let browser;
let runId;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name: "wide" },
    spec: {
      params: [{ name: "go", default: "no" }],
      stages: [
        {
          name: "test",
          actions: [
            {
              name: "shards",
              jobs: [
                {
                  name: "test",
                  image: "containerops/busybox:1",
                  command: ["sh", "-c", "echo shard $CO_SHARD_INDEX"],
                  shards: SHARDS,
                  max_parallel: 8,
                  if: "${{ params.go == 'yes' }}",
                },
              ],
            },
          ],
        },
      ],
    },
  });
  ({ id: runId } = await call(server, "POST", `/namespaces/${NS}/workflows/wide/runs`, { params: {} }));
  for (let tries = 0; tries < 120; tries++) {
    const run = await call(server, "GET", `/namespaces/${NS}/runs/${runId}`);
    if (run.status === "succeeded" || run.status === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the run did not end");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openRun(job) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.goto(`${server.url}/#/run/${NS}/${runId}${job ? `/${job}` : ""}`);
  await page.getByTestId("run-view").waitFor();
  return page;
}

test("the group is one node with its count, its counts and a bar, never a node per instance", { timeout: 60_000 }, async () => {
  const page = await openRun();
  const node = page.locator('[data-testid="job-node"][data-job="test"]');
  await node.getByTestId("fan-out-progress").waitFor();
  assert.equal(await page.getByTestId("job-node").count(), 1);
  assert.equal(await node.getByTestId("fan-out-tag").getAttribute("data-count"), String(SHARDS));
  assert.equal(await node.getAttribute("data-status"), "skipped");
  const bar = node.getByTestId("fan-out-bar");
  assert.equal(await bar.getAttribute("aria-label"), "0 of 10,000 done · 10,000 not started");
  assert.deepEqual(await bar.locator(".fan-out-segment").evaluateAll((parts) => parts.map((p) => [p.dataset.state, p.dataset.count])), [
    ["not_started", "10000"],
  ]);

  await page.getByTestId("run-tab-timeline").click();
  assert.equal(await page.getByTestId("timeline-row").count(), 1, "one row for the group");
  assert.equal(await page.getByTestId("timeline-row").getAttribute("data-status"), "skipped");
  assertNoPageProblems(page);
});

test("the job's details draw a grid of its 10,000 instances in under 2 s, filter them and open one", { timeout: 90_000 }, async () => {
  const page = await openRun("test");
  const grid = page.getByTestId("instance-grid");
  await grid.locator('[data-testid="instance-cell"]').first().waitFor();
  const drawn = await page.evaluate(() => performance.now());
  assert.ok(drawn < 2_000, `the grid's first cells were drawn ${Math.round(drawn)} ms after navigation`);
  assert.equal(await grid.getAttribute("data-total"), String(SHARDS));
  await page.getByTestId("fan-out-counts").getByText("not started 10,000").waitFor();
  // Virtualised: only the rows in view are in the page, but the grid is as tall as 10,000 cells.
  const cells = await grid.getByTestId("instance-cell").count();
  assert.ok(cells > 50 && cells < 3_000, `${cells} cells in the page`);
  const box = await page.getByTestId("instance-cells").evaluate((e) => ({ height: e.scrollHeight, width: e.clientWidth }));
  const columns = Math.floor((box.width + 2) / 16); // cells of 14 px and gaps of 2 px
  assert.equal(box.height, Math.ceil(SHARDS / columns) * 16, "the grid scrolls through a row of cells for every instance");
  assert.deepEqual(
    await grid.getByTestId("instance-cell").evaluateAll((all) => all.slice(0, 3).map((cell) => [cell.dataset.index, cell.dataset.status])),
    [["0", "pending"], ["1", "pending"], ["2", "pending"]],
  );

  // Scrolled to the end, the last instances are read and drawn.
  await page.getByTestId("instance-cells").evaluate((element) => element.scrollTo(0, element.scrollHeight));
  await grid.locator('[data-testid="instance-cell"][data-index="9999"]').waitFor({ timeout: 30_000 });

  // The filter: states with instances, and all.
  const filters = await grid.getByTestId("instance-filter").evaluateAll((all) => all.map((b) => b.textContent));
  assert.deepEqual(filters, ["all 10,000", "not started 10,000"]);
  await grid.locator('[data-testid="instance-filter"][data-filter="not_started"]').click();
  await grid.locator('[data-testid="instance-cell"][data-index="0"]').waitFor();
  assert.equal(await grid.locator('[data-testid="instance-filter"][aria-selected="true"]').getAttribute("data-filter"), "not_started");
  await screenshot(page, "run-fan-out-grid");

  // A cell opens its instance; the graph keeps its group selected; back returns to the grid.
  await grid.locator('[data-testid="instance-cell"][data-index="42"]').click();
  await page.waitForURL(/\/test\.42$/);
  const details = page.getByTestId("instance-details");
  await details.waitFor();
  assert.equal(await details.getAttribute("data-instance"), "test.42");
  await details.getByTestId("instance-shard").getByText("42").waitFor();
  await details.getByText("No attempt yet: the instance has not started.").waitFor();
  await page.getByTestId("run-tab-graph").click(); // the page remembers the last tab shown
  await page.locator('[data-testid="job-node"][data-job="test"] .job-node.selected, [data-testid="job-node"][data-job="test"].selected').first().waitFor();
  await details.getByTestId("instance-back").click();
  await page.getByTestId("instance-grid").waitFor();
  assertNoPageProblems(page);
});

test("an instance's address opened directly shows it, and a name no instance has says so", { timeout: 60_000 }, async () => {
  const page = await openRun("test.9998");
  const details = page.getByTestId("instance-details");
  await details.getByTestId("instance-shard").getByText("9998").waitFor({ timeout: 30_000 });
  await page.goto(`${server.url}/#/run/${NS}/${runId}/test.10000`);
  await page.getByText("The job test has no instance 10000.").waitFor({ timeout: 30_000 });
  assertNoPageProblems(page);
});
