// The run page's context, in a real browser against a real server and real containers: the
// params and the trigger a run started with (through the API, by a signed webhook), the link
// to the version it ran (not the latest), the timeline of its jobs, and re-runs of every job
// or of one job from a succeeded run.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { call } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "e2e-context";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const shellJob = (name, script, fields = {}) => ({ name, image: "containerops/busybox:1", command: ["sh", "-c", script], ...fields });

function workflow(name, stages, spec = {}) {
  return { apiVersion: "containerops/v1", kind: "Workflow", metadata: { namespace: NS, name }, spec: { ...spec, stages } };
}

const stage = (name, ...jobs) => ({ name, actions: [{ name: "a", jobs }] });

async function start(name, params = {}) {
  return call(server, "POST", `/namespaces/${NS}/workflows/${name}/runs`, { params });
}

async function endOf(started) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = await call(server, "GET", `/namespaces/${NS}/runs/${started.id}`);
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${started.id} did not end: ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function openPage(route, { width = 1600, height = 900 } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  await page.goto(`${server.url}/#${route}`);
  await page.getByTestId("run-view").waitFor();
  return page;
}

const runStatus = (page, status) =>
  page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: status }).waitFor({ timeout: 120_000 });

/** The fields of a name/value table, as [name, value] pairs. */
const pairs = (table) => table.locator("tr").evaluateAll((rows) => rows.map((row) => [row.querySelector("th")?.textContent, row.querySelector("td")?.textContent]));

test("a run started through the API shows its params and that the API started it", { timeout: 120_000 }, async () => {
  await call(server, "POST", `/namespaces/${NS}/workflows`, workflow(
    "greeter",
    [stage("only", shellJob("greet", 'echo "hello $CO_WHO"', { data: { who: "${{ params.who }}", loud: "${{ params.loud }}" } }))],
    { params: [{ name: "who", default: "world" }, { name: "loud", default: "no" }] },
  ));
  const run = await endOf(await start("greeter", { who: "<b>the API</b>" }));
  const page = await openPage(`/run/${NS}/${run.id}`);
  const params = page.getByTestId("run-params");
  await params.waitFor();
  assert.deepEqual(Object.fromEntries(await pairs(params)), { who: "<b>the API</b>", loud: "no" }, "given and default values");
  assert.equal(await params.locator("b").count(), 0, "a param's markup stays text");
  assert.equal(await page.getByTestId("run-trigger").textContent(), "API");
  assert.equal(await page.getByTestId("run-trigger-headline").textContent(), "API");
  assert.equal(await page.getByTestId("run-trigger-payload").count(), 0);
  assertNoPageProblems(page);
});

test("a run a webhook started shows the event, the sender and the payload's fields", { timeout: 120_000 }, async () => {
  const created = await call(server, "POST", `/namespaces/${NS}/workflows`, workflow(
    "on-push",
    [stage("only", shellJob("show", 'echo "pushed $CO_REF"', { data: { ref: "${{ trigger.ref }}" } }))],
    { triggers: [{ type: "webhook" }] },
  ));
  const body = JSON.stringify({
    ref: "refs/heads/main",
    after: "b6aa706",
    repository: { full_name: "team/app", private: true },
    sender: { login: "ana" },
    head_commit: { id: "b6aa706", message: "<img src=x onerror=alert(1)> fix the build" },
  });
  const signature = `sha256=${createHmac("sha256", created.webhook_secret).update(body).digest("hex")}`;
  const answer = await fetch(`${server.url}/api/namespaces/${NS}/workflows/on-push/webhook`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature, "X-GitHub-Event": "push", "X-GitHub-Delivery": "e2e-delivery-1" },
    body,
  });
  assert.equal(answer.status, 202, await answer.clone().text());
  const run = await endOf(await answer.json());
  assert.equal(run.status, "succeeded");

  const page = await openPage(`/run/${NS}/${run.id}`);
  await page.getByTestId("run-trigger").getByText("webhook push by ana").waitFor();
  assert.equal(await page.getByTestId("run-trigger-headline").textContent(), "webhook push by ana");
  assert.equal(await page.getByTestId("run-trigger-who").textContent(), "ana");
  const fields = Object.fromEntries(await pairs(page.getByTestId("run-trigger-fields")));
  assert.equal(fields.event, "push");
  assert.equal(fields.ref, "refs/heads/main");
  assert.equal(fields.repository, "team/app");
  assert.equal(fields["head commit message"], "<img src=x onerror=alert(1)> fix the build");
  assert.equal(await page.getByTestId("run-context").locator("img").count(), 0, "the payload's markup stays text");
  assert.equal(await page.getByTestId("run-params-none").textContent(), "None.");

  const payload = page.getByTestId("run-trigger-payload");
  await payload.locator("summary").click();
  const shown = JSON.parse(await payload.locator("pre").textContent());
  assert.deepEqual(shown.repository, { full_name: "team/app", private: true });
  assert.equal(shown.type, "webhook");
  await screenshot(page, "run-context-webhook");
  assertNoPageProblems(page);
});

test("the version link opens the version the run ran, after a newer one is saved", { timeout: 120_000 }, async () => {
  const first = workflow("versioned", [stage("only", shellJob("say", "echo one"))]);
  await call(server, "POST", `/namespaces/${NS}/workflows`, first);
  const run = await endOf(await start("versioned"));
  assert.equal(run.workflow_version, 1);
  const second = workflow("versioned", [stage("only", shellJob("say", "echo two"))]);
  const saved = await call(server, "PUT", `/namespaces/${NS}/workflows/versioned`, { expected_version: 1, definition: second });
  assert.equal(saved.version, 2);

  const page = await openPage(`/run/${NS}/${run.id}`);
  const link = page.getByTestId("run-version");
  await link.waitFor();
  assert.equal(await link.textContent(), `${NS}/versioned v1`);
  assert.equal(await link.getAttribute("href"), `#/designer/${NS}/versioned?version=1`);
  assert.equal(await page.getByTestId("run-context-version").getAttribute("href"), `#/designer/${NS}/versioned?version=1`);
  await link.click();
  await page.waitForURL(new RegExp(`#/designer/${NS}/versioned\\?version=1$`));
  assertNoPageProblems(page);
});

test("the timeline draws a bar per attempt of each job in stage order, and a click selects the job", { timeout: 180_000 }, async () => {
  const flaky = 'if [ "$CO_ATTEMPT" = 1 ]; then sleep 1; exit 1; fi; sleep 1; echo "second try"';
  await call(server, "POST", `/namespaces/${NS}/workflows`, workflow("timed", [
    stage("prepare", shellJob("checkout", "sleep 1; echo checked out")),
    { name: "check", actions: [{ name: "a", jobs: [shellJob("lint", "sleep 1")] }, { name: "b", jobs: [shellJob("flaky", flaky, { retries: { limit: 1, backoff: "1s" } })] }] },
    stage("ship", shellJob("skipped-one", "true", { if: "${{ 'a' == 'b' }}" })),
  ]));
  const run = await endOf(await start("timed"));
  assert.equal(run.status, "succeeded");

  const page = await openPage(`/run/${NS}/${run.id}`);
  await page.getByTestId("run-tab-timeline").click();
  const timeline = page.getByTestId("timeline");
  await timeline.waitFor();
  const rows = timeline.getByTestId("timeline-row");
  assert.deepEqual(await rows.evaluateAll((all) => all.map((row) => row.dataset.job)), ["checkout", "lint", "flaky", "skipped-one"]);
  assert.deepEqual(await timeline.locator(".timeline-stage-name").allTextContents(), ["prepare", "check", "ship"]);
  const bars = (job) => timeline.locator(`[data-testid="timeline-row"][data-job="${job}"] [data-testid="timeline-bar"]`);
  assert.equal(await bars("checkout").count(), 1);
  assert.equal(await bars("lint").count(), 1);
  assert.deepEqual(await bars("flaky").evaluateAll((all) => all.map((bar) => [bar.dataset.attempt, bar.dataset.status])), [["1", "failed"], ["2", "succeeded"]]);
  assert.equal(await timeline.locator('[data-job="skipped-one"] [data-testid="timeline-mark"]').count(), 1, "a skipped job is a mark, not a bar");
  assert.ok((await timeline.getByTestId("timeline-tick").count()) >= 2, "the axis has ticks");

  // Stages one after the other: checkout's bar ends before lint's starts.
  const [checkoutBox, lintBox] = [await bars("checkout").boundingBox(), await bars("lint").boundingBox()];
  assert.ok(checkoutBox.width > 3 && lintBox.width > 3, "bars as long as the jobs took");
  assert.ok(checkoutBox.x + checkoutBox.width <= lintBox.x + 1, "the second stage's bar starts after the first's ends");
  await screenshot(page, "run-timeline");

  await bars("lint").click();
  await page.waitForURL(new RegExp(`#/run/${NS}/${run.id}/lint\\?attempt=1$`));
  await page.getByTestId("job-details").getByRole("heading", { name: /lint/ }).waitFor();
  assert.equal(await timeline.locator('[data-job="lint"]').getAttribute("aria-current"), "true");
  assert.equal(await timeline.locator('[aria-current="true"]').count(), 1, "one job selected");

  await timeline.locator('[data-testid="timeline-row"][data-job="flaky"] [data-testid="timeline-bar"][data-attempt="1"]').click();
  await page.waitForURL(new RegExp(`/flaky\\?attempt=1$`));
  await page.locator('[data-testid="attempt-tab"][data-attempt="1"][aria-selected="true"]').waitFor();
  await timeline.locator('[data-testid="timeline-row"][data-job="checkout"] .timeline-name').click();
  await page.waitForURL(new RegExp(`/checkout$`));

  // The choice of the timeline is remembered.
  await page.reload();
  await page.getByTestId("timeline").waitFor();
  await page.getByTestId("run-tab-graph").click();
  await page.locator('[data-testid="job-node"][data-job="lint"]').waitFor();
  assertNoPageProblems(page);
});

// build -> test (fed by build's output), and lint on its own.
const chained = (name) => workflow(name, [
  stage("build", shellJob("build", 'echo "[COUT] ARTIFACT = app-$CO_ATTEMPT"', { outputs: ["ARTIFACT"] }), shellJob("lint", "echo linted")),
  stage("test", shellJob("test", 'echo "testing $CO_ARTIFACT"', { data: { artifact: "${{ jobs.build.outputs.ARTIFACT }}" } })),
  stage("report", shellJob("notify", "echo told")),
]);

test("re-run all jobs on a succeeded run opens a new run where every job runs again", { timeout: 180_000 }, async () => {
  await call(server, "POST", `/namespaces/${NS}/workflows`, chained("chained-all"));
  const first = await endOf(await start("chained-all"));
  assert.equal(first.status, "succeeded");
  const page = await openPage(`/run/${NS}/${first.id}`);
  assert.equal(await page.getByTestId("rerun").count(), 0, "nothing failed: no re-run of failed jobs");
  await page.getByTestId("rerun-all").click();
  await page.waitForURL((url) => !url.toString().includes(first.id));
  const second = page.url().split("/").pop();
  await runStatus(page, "succeeded");
  const run = await call(server, "GET", `/namespaces/${NS}/runs/${second}`);
  assert.equal(run.rerun_of, first.id);
  assert.deepEqual(run.jobs.map((job) => [job.name, job.status, job.attempt_history.length]), [
    ["build", "succeeded", 1],
    ["lint", "succeeded", 1],
    ["test", "succeeded", 1],
    ["notify", "succeeded", 1],
  ]);
  const rerunOf = page.getByTestId("run-rerun-of");
  assert.equal(await rerunOf.textContent(), `re-run of ${first.id} (all jobs)`);
  assert.equal(await rerunOf.locator("a").getAttribute("href"), `#/run/${NS}/${first.id}`);
  assertNoPageProblems(page);
});

test("re-run this job on a succeeded run runs it and what its outputs feed, and reuses the others", { timeout: 180_000 }, async () => {
  await call(server, "POST", `/namespaces/${NS}/workflows`, chained("chained-one"));
  const first = await endOf(await start("chained-one"));
  assert.equal(first.status, "succeeded");
  const page = await openPage(`/run/${NS}/${first.id}/build`);
  await page.getByTestId("rerun-job").waitFor();
  await screenshot(page, "run-job-details-rerun");
  await page.getByTestId("rerun-job").click();
  await page.waitForURL((url) => !url.toString().includes(first.id));
  const second = page.url().split("/").pop();
  await runStatus(page, "succeeded");
  assert.equal(await page.getByTestId("job-details").count(), 0, "the new run opens on its overview");
  const run = await call(server, "GET", `/namespaces/${NS}/runs/${second}`);
  assert.deepEqual(run.rerun_scope, { scope: "jobs", jobs: ["build"] });
  // The workflow's newest success keeps its workspace: lint, fed by nothing build makes,
  // and notify are reused; test, fed by build's output, runs again.
  assert.deepEqual(Object.fromEntries(run.jobs.map((job) => [job.name, job.status])), {
    build: "succeeded", lint: "reused", test: "succeeded", notify: "reused",
  });
  assert.equal(await page.getByTestId("run-rerun-of").textContent(), `re-run of ${first.id} (jobs build)`);
  await page.locator('[data-testid="job-node"][data-job="notify"][data-status="reused"]').waitFor();
  await screenshot(page, "run-rerun-job");

  // A run still going offers no re-run.
  await call(server, "POST", `/namespaces/${NS}/workflows`, workflow("long", [stage("only", shellJob("nap", "sleep 60"))]));
  const going = await start("long");
  await page.goto(`${server.url}/#/run/${NS}/${going.id}/nap`);
  await page.getByTestId("cancel").waitFor();
  assert.equal(await page.getByTestId("rerun-all").count(), 0);
  assert.equal(await page.getByTestId("rerun-job").count(), 0);

  // On the timeline, the running job's bar grows to now.
  await page.getByTestId("run-tab-timeline").click();
  const running = page.locator('[data-testid="timeline-row"][data-job="nap"] [data-testid="timeline-bar"][data-status="running"]');
  await running.waitFor({ timeout: 60_000 });
  await page.locator(".timeline-now").waitFor();
  const [bar, now] = [await running.boundingBox(), await page.locator(".timeline-now").boundingBox()];
  assert.ok(Math.abs(bar.x + bar.width - now.x) <= 3, "the bar reaches the line of now");
  const width = bar.width;
  await page.waitForFunction(
    ([selector, before]) => (document.querySelector(selector)?.getBoundingClientRect().width ?? 0) > before + 20,
    ['[data-testid="timeline-row"][data-job="nap"] [data-testid="timeline-bar"][data-status="running"]', width],
    { timeout: 30_000 },
  );
  await page.getByTestId("cancel").click();
  await runStatus(page, "cancelled");
  await page.getByTestId("rerun-job").waitFor();
  await page.getByTestId("rerun").waitFor();
  await page.evaluate(() => localStorage.removeItem("containerops.runMainView"));
  assertNoPageProblems(page);
});

test("the timeline of a run of 300 jobs draws every row at once", { timeout: 180_000 }, async () => {
  // Skipped jobs need no container: the run of 300 takes seconds.
  const stages = Array.from({ length: 10 }, (_, s) =>
    stage(`stage-${s}`, ...Array.from({ length: 30 }, (_, j) => ({ ...shellJob(`job-${s}-${j}`, "true"), if: "${{ 'no' == 'yes' }}" }))),
  );
  await call(server, "POST", `/namespaces/${NS}/workflows`, workflow("wide", stages));
  const run = await endOf(await start("wide"));
  const page = await openPage(`/run/${NS}/${run.id}`);
  await page.locator('[data-testid="job-node"]').first().waitFor({ timeout: 60_000 });
  const began = Date.now();
  await page.getByTestId("run-tab-timeline").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="timeline-row"]').length === 300);
  const took = Date.now() - began;
  assert.ok(took < 2_000, `the timeline of 300 jobs took ${took} ms`);
  assert.equal(await page.locator(".timeline-stage-name").count(), 10);
  const last = page.locator('[data-testid="timeline-row"][data-job="job-9-29"]');
  await last.scrollIntoViewIfNeeded();
  await last.click();
  await page.waitForURL(new RegExp(`/job-9-29$`));
  await page.evaluate(() => localStorage.removeItem("containerops.runMainView"));
  assertNoPageProblems(page);
});
