// A fan-out job whose 40 instances really run on the local driver (its queue behind
// max_parallel and the machine's bound), on a real `containerops serve`:
//
//     CONTAINEROPS_E2E_DIST=<build> node --test --test-reporter=spec e2e/fanout.run.test.mjs
//
// What it checks, on instances that really ran (fanout.test.mjs covers a group of 10,000
// instances that never started): the group node's bar filling while the
// instances run and its counts at the end, the timeline's one row with a segmented bar, the
// grid's failed instances first then the rest by index, the state filter, and a cell opening
// that instance's attempts and log at `#/run/<ns>/<run>/test.<i>` (the log read from the same
// job-name routes as any job's: `…/jobs/test.17/attempts/1/logs`).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { call } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "faninst";
const SHARDS = 20; // x 2 values of the matrix: 40 instances
const FAILING = [7, 17, 27, 37]; // instance index % 10 == 7 fails

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name: "sharded" },
    spec: {
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
                  command: [
                    "sh",
                    "-c",
                    'sleep 0.3; echo "flavour $CO_FLAVOUR shard $CO_SHARD_INDEX of $CO_SHARD_COUNT, instance $CO_INSTANCE_INDEX"; ' +
                      '[ $((CO_INSTANCE_INDEX % 10)) -ne 7 ]',
                  ],
                  env: { CO_FLAVOUR: "${{ matrix.flavour }}" },
                  matrix: { flavour: ["slim", "full"] },
                  shards: SHARDS,
                  max_parallel: 4,
                  fail_fast: false,
                },
              ],
            },
          ],
        },
      ],
    },
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function startRun() {
  const { id } = await call(server, "POST", `/namespaces/${NS}/workflows/sharded/runs`, { params: {} });
  return id;
}

async function waitForEnd(runId) {
  for (let tries = 0; tries < 600; tries++) {
    const run = await call(server, "GET", `/namespaces/${NS}/runs/${runId}`);
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`run ${runId} did not end`);
}

async function openRun(runId, job) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  await page.goto(`${server.url}/#/run/${NS}/${runId}${job ? `/${job}` : ""}`);
  await page.getByTestId("run-view").waitFor();
  return page;
}

const segments = (bar) => bar.locator(".fan-out-segment").evaluateAll((parts) => parts.map((p) => [p.dataset.state, Number(p.dataset.count)]));

test("the group node's bar fills while the instances run, and ends with their counts", { timeout: 180_000 }, async () => {
  const runId = await startRun();
  const page = await openRun(runId);
  await page.getByTestId("run-tab-graph").click();
  const node = page.locator('[data-testid="job-node"][data-job="test"]');
  await node.getByTestId("fan-out-progress").waitFor();
  assert.equal(await node.getByTestId("fan-out-tag").getAttribute("data-count"), "40");
  // While it runs: some running (at most max_parallel), the rest pending or done.
  await node.locator('.fan-out-segment[data-state="running"]').waitFor({ timeout: 60_000 });
  const running = (await segments(node.getByTestId("fan-out-bar"))).find(([state]) => state === "running");
  assert.ok(running && running[1] >= 1 && running[1] <= 4, `running: ${running}`);

  await waitForEnd(runId);
  await page.locator('[data-testid="job-node"][data-job="test"][data-status="failed"]').waitFor();
  await node.locator('[data-testid="fan-out-bar"][aria-label="40 of 40 done · 4 failed"]').waitFor();
  assert.deepEqual(await segments(node.getByTestId("fan-out-bar")), [
    ["succeeded", 36],
    ["failed", 4],
  ]);

  await page.getByTestId("run-tab-timeline").click();
  assert.equal(await page.getByTestId("timeline-row").count(), 1, "one row for 40 instances");
  const bar = page.getByTestId("timeline-fan-out");
  assert.deepEqual(await segments(bar), [
    ["succeeded", 36],
    ["failed", 4],
  ]);
  await screenshot(page, "run-fan-out-timeline");
  assertNoPageProblems(page);
});

test("the grid shows failed instances first, filters by state, and a cell opens that instance's log", { timeout: 180_000 }, async () => {
  const runId = await startRun();
  await waitForEnd(runId);
  const page = await openRun(runId, "test");
  const grid = page.getByTestId("instance-grid");
  await grid.getByTestId("instance-cell").nth(39).waitFor();
  const order = await grid.getByTestId("instance-cell").evaluateAll((cells) => cells.map((c) => [Number(c.dataset.index), c.dataset.status]));
  const rest = Array.from({ length: 40 }, (_, index) => index).filter((index) => !FAILING.includes(index));
  assert.deepEqual(order, [...FAILING.map((index) => [index, "failed"]), ...rest.map((index) => [index, "succeeded"])]);
  await page.getByTestId("fan-out-counts").getByText("succeeded 36, failed 4").waitFor();

  await grid.locator('[data-testid="instance-filter"][data-filter="failed"]').click();
  await grid.locator('[data-testid="instance-cell"][data-index="7"]').waitFor();
  assert.equal(await grid.getByTestId("instance-cell").count(), 4);
  assert.equal(await grid.locator('[data-testid="instance-cell"][data-status="succeeded"]').count(), 0);
  await screenshot(page, "run-fan-out-failed");

  await grid.locator('[data-testid="instance-cell"][data-index="17"]').click();
  await page.waitForURL(/\/test\.17$/);
  const details = page.getByTestId("instance-details");
  await details.getByTestId("instance-values").getByText("flavour=slim").waitFor(); // combination 17 // 20 = 0
  await details.getByTestId("instance-shard").getByText("17").waitFor();
  await details.locator('[data-testid="attempt-tab"][data-attempt="1"]').getByText("failed").waitFor();
  await details.getByTestId("log-line").getByText("shard 17 of 20, instance 17").waitFor();
  await details.getByTestId("job-exit-code").getByText("1").waitFor();

  // Its log lines link to the instance, and the link opens it on that line.
  const link = await details.getByTestId("log-line-link").first().getAttribute("href");
  assert.match(link, new RegExp(`#/run/${NS}/${runId}/test\\.17\\?attempt=1&line=\\d+$`));
  assertNoPageProblems(page);
});

test("a run whose fan-out job was cancelled says how many never started", { timeout: 180_000 }, async () => {
  const runId = await startRun();
  const page = await openRun(runId, "test");
  await page.getByTestId("instance-grid").locator('[data-testid="instance-cell"][data-status="running"]').first().waitFor({ timeout: 60_000 });
  await page.getByTestId("cancel").click();
  await waitForEnd(runId);
  await page.getByTestId("fan-out-counts").getByText("not started").waitFor();
  await page.getByTestId("instance-grid").locator('[data-testid="instance-filter"][data-filter="not_started"]').click();
  await page.getByTestId("instance-grid").getByTestId("instance-cell").first().waitFor();
  assertNoPageProblems(page);
});
