// The run view as a daily user meets it, in a real browser against a real server and real
// containers: reading a job's log (its lines in the order they were printed, stderr told
// apart, wrapped or not, searched, downloaded, linked to by line and by attempt) in a side
// panel they can widen.
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { call } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "e2e-runs";
const ESC = "\u001b";
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

/** Saves a one-job workflow, runs it and waits for the run to end; the run's document. */
async function runJob(workflow, job, { namespace = NS } = {}) {
  await call(server, "POST", `/namespaces/${namespace}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace, name: workflow },
    spec: { stages: [{ name: "only", actions: [{ name: "a", jobs: [job] }] }] },
  });
  return runToEnd(namespace, workflow);
}

async function runToEnd(namespace, workflow) {
  const started = await call(server, "POST", `/namespaces/${namespace}/workflows/${workflow}/runs`, { params: {} });
  return endOf(namespace, started);
}

async function rerunToEnd(namespace, runId) {
  return endOf(namespace, await call(server, "POST", `/namespaces/${namespace}/runs/${runId}/rerun`));
}

async function endOf(namespace, started) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = await call(server, "GET", `/namespaces/${namespace}/runs/${started.id}`);
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${started.id} did not end: ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function openPage(route, { width = 1600, height = 900 } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  await page.goto(`${server.url}/#${route}`);
  return page;
}

const logLines = (page) => page.getByTestId("log-view").getByTestId("log-line");
const row = (page, seq) => page.locator(`[data-testid="log-line"][data-seq="${seq}"]`);

/** Whether the element is within the log's scrolled view (not only drawn). */
async function inView(page, locator) {
  const [box, view] = [await locator.boundingBox(), await page.locator(".log-scroll").boundingBox()];
  return Boolean(box) && box.y >= view.y - 1 && box.y + box.height <= view.y + view.height + 1;
}

/** The texts of the log's rows in the page, in order of their line numbers. */
async function rowTexts(page) {
  return logLines(page).evaluateAll((rows) =>
    rows
      .map((row) => [Number(row.dataset.seq), row.querySelector(".log-text")?.textContent ?? "", row.dataset.stream ?? ""])
      .sort((a, b) => a[0] - b[0]),
  );
}

test("a job's stdout and stderr lines show in the order it printed them, stderr marked", { timeout: 180_000 }, async () => {
  // The example that fails on purpose: its `error:` line, printed second, used to come first,
  // second or fourth, as the container engine interleaved the two streams.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const run = await runToEnd("examples", "failing");
    const page = await openPage(`/run/examples/${run.id}/check`);
    await page.getByTestId("log-status").getByText("the attempt ended").waitFor();
    const rows = (await rowTexts(page)).slice(0, 4);
    assert.deepEqual(rows, [
      [1, "checking the release notes", "stdout"],
      [2, "error: CHANGELOG has no entry for this version", "stderr"],
      [3, "[COUT] REASON = CHANGELOG has no entry for this version", "stdout"],
      [4, "[COUT] CO_RESULT = false", "stdout"],
    ], `run ${attempt}`);
    const stderr = logLines(page).filter({ hasText: "error: CHANGELOG" });
    assert.equal(await stderr.locator(".log-stream").textContent(), "err");
    assert.equal(await stderr.locator(".log-stream").getAttribute("title"), "written to stderr");
    if (attempt === 1) await screenshot(page, "run-log-stderr");
    assertNoPageProblems(page);
    await page.close();
  }
});

test("search counts the matches and steps through them, scrolling each into view", { timeout: 180_000 }, async () => {
  const script = 'i=1; while [ $i -le 3000 ]; do if [ $((i % 500)) -eq 0 ]; then echo "line $i: Needle here"; else echo "line $i"; fi; i=$((i+1)); done';
  const run = await runJob("haystack", shellJob("hay", script));
  const page = await openPage(`/run/${NS}/${run.id}/hay`);
  await page.getByTestId("log-count").getByText("3,000 lines").waitFor();

  const search = page.getByTestId("log-search");
  await search.fill("needle");
  const count = page.getByTestId("log-match-count");
  await count.getByText("1 of 6").waitFor();
  const current = page.locator(".log-match-current");
  assert.equal(await current.textContent(), "Needle");
  assert.equal(await current.locator("xpath=ancestor::*[@data-testid='log-line']").getAttribute("data-seq"), "500");
  assert.ok(await inView(page, current), "the current match is scrolled into view");
  assert.equal(await page.getByTestId("log-follow").isChecked(), false, "searching stops following");

  await search.press("Enter");
  await count.getByText("2 of 6").waitFor();
  assert.equal(await page.locator(".log-match-current").locator("xpath=ancestor::*[@data-testid='log-line']").getAttribute("data-seq"), "1000");
  await search.press("Shift+Enter");
  await count.getByText("1 of 6").waitFor();
  await page.getByTestId("log-search-previous").click();
  await count.getByText("6 of 6").waitFor();
  assert.equal(await page.locator(".log-match-current").locator("xpath=ancestor::*[@data-testid='log-line']").getAttribute("data-seq"), "3000");
  assert.ok(await inView(page, page.locator(".log-match-current")));
  await page.getByTestId("log-search-next").click();
  await count.getByText("1 of 6").waitFor();
  await screenshot(page, "run-log-search");

  // Capitals make it exact; a query with none matches any case.
  await search.fill("NEEDLE");
  await count.getByText("no matches").waitFor();
  assert.equal(await page.getByTestId("log-search-next").isDisabled(), true);
  await search.press("Escape");
  assert.equal(await search.inputValue(), "");
  assert.equal(await page.locator(".log-match").count(), 0);

  // Ctrl+F in the log goes to the log's search, not the browser's (which cannot see rows not drawn).
  await page.locator(".log-scroll").click();
  await page.keyboard.press("Control+f");
  assert.equal(await search.evaluate((element) => element === document.activeElement), true);
  assertNoPageProblems(page);
});

test("wrap folds a long line into the panel and unwrap gives it back its one row", { timeout: 120_000 }, async () => {
  const long = "word ".repeat(200).trim();
  const run = await runJob("wide-lines", shellJob("wide", `echo short; echo "${long}"; echo after`));
  const page = await openPage(`/run/${NS}/${run.id}/wide`);
  await page.getByTestId("log-status").getByText("the attempt ended").waitFor();
  const longRow = logLines(page).filter({ hasText: "word word" });
  const scroller = page.locator(".log-scroll");
  const overflows = () => scroller.evaluate((element) => element.scrollWidth > element.clientWidth + 1);
  assert.equal((await longRow.boundingBox()).height, 20);
  assert.equal(await overflows(), true, "unwrapped, the line runs past the panel");

  await page.getByTestId("log-wrap").check();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="log-line"]')];
    return rows.some((row) => row.getBoundingClientRect().height > 40);
  });
  assert.equal(await overflows(), false, "wrapped, nothing runs past the panel");
  const after = row(page, 3);
  const [longBox, afterBox] = [await longRow.boundingBox(), await after.boundingBox()];
  assert.ok(afterBox.y >= longBox.y + longBox.height - 1, "the next line starts below the wrapped one");
  await screenshot(page, "run-log-wrapped");

  // The choice is remembered on the next visit.
  await page.reload();
  await page.getByTestId("log-status").getByText("the attempt ended").waitFor();
  assert.equal(await page.getByTestId("log-wrap").isChecked(), true);
  await page.getByTestId("log-wrap").uncheck();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="log-line"]')];
    return rows.length > 0 && rows.every((row) => row.getBoundingClientRect().height === 20);
  });
  assertNoPageProblems(page);
});

test("download saves every line of the attempt as the server keeps it", { timeout: 120_000 }, async () => {
  const script = `echo "plain"; printf '${ESC}[32mgreen${ESC}[0m\\n'; echo "to stderr" >&2; echo "[COUT] DONE = yes"`;
  const run = await runJob("downloadable", shellJob("saved", script, { outputs: ["DONE"] }));
  const page = await openPage(`/run/${NS}/${run.id}/saved`);
  await page.getByTestId("log-status").getByText("the attempt ended").waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("log-download").click()]);
  assert.equal(download.suggestedFilename(), `${run.id}-saved-attempt-1.log`);
  const text = await readFile(await download.path(), "utf8");
  assert.equal(text, `plain\n${ESC}[32mgreen${ESC}[0m\nto stderr\n[COUT] DONE = yes\n`);
  assertNoPageProblems(page);
});

test("a line and an attempt have links that open exactly there", { timeout: 180_000 }, async () => {
  // The first attempt fails, the retry succeeds: two attempts, each with its own log.
  const script = 'if [ "$CO_ATTEMPT" = 1 ]; then i=1; while [ $i -le 400 ]; do echo "first try $i"; i=$((i+1)); done; exit 1; fi; echo "second try"';
  const run = await runJob("flaky", shellJob("flaky", script, { retries: { limit: 1, backoff: "1s" } }));
  assert.equal(run.status, "succeeded");
  const page = await openPage(`/run/${NS}/${run.id}/flaky`);
  await logLines(page).filter({ hasText: "second try" }).waitFor();

  await page.locator('[data-testid="attempt-tab"][data-attempt="1"]').click();
  await page.waitForURL(/\/flaky\?attempt=1$/);
  await row(page, 400).filter({ hasText: "first try 400" }).waitFor();
  assert.equal(await page.locator('[data-testid="attempt-tab"][data-attempt="1"]').getAttribute("aria-selected"), "true");

  await row(page, 398).getByTestId("log-line-link").click();
  await page.waitForURL(/\/flaky\?attempt=1&line=398$/);
  await page.locator('.log-target[data-seq="398"]').waitFor();
  const link = page.url();

  // Someone opens a link to a line far from the end: the same attempt, that line, marked and
  // in view, not followed.
  const shared = await openPage(link.slice(link.indexOf("#") + 1).replace(/line=398$/, "line=50"));
  const target = shared.locator('.log-target[data-seq="50"]');
  await target.waitFor();
  assert.ok(await inView(shared, target), "the linked line is scrolled into view");
  assert.equal(await target.locator(".log-text").textContent(), "first try 50");
  assert.equal(await shared.locator('[data-testid="attempt-tab"][data-attempt="1"]').getAttribute("aria-selected"), "true");
  assert.equal(await shared.getByTestId("log-follow").isChecked(), false);
  await screenshot(shared, "run-log-permalink");

  // A link to an attempt that does not exist shows the latest one.
  const missing = await openPage(`/run/${NS}/${run.id}/flaky?attempt=9`);
  await logLines(missing).filter({ hasText: "second try" }).waitFor();
  for (const one of [page, shared, missing]) assertNoPageProblems(one);
});

test("the side panel is wider by default, can be dragged wider and remembers it", { timeout: 120_000 }, async () => {
  const run = await runJob("panel", shellJob("panel", "echo hello"));
  const page = await openPage(`/run/${NS}/${run.id}/panel`);
  const panel = page.getByTestId("run-panel");
  await panel.waitFor();
  const before = (await panel.boundingBox()).width;
  assert.ok(before >= 700, `the panel starts at ${before}px`);

  const handle = page.getByTestId("panel-resizer");
  const box = await handle.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 200);
  await page.mouse.down();
  await page.mouse.move(box.x - 300, box.y + 200, { steps: 8 });
  await page.mouse.up();
  const dragged = (await panel.boundingBox()).width;
  assert.ok(Math.abs(dragged - (before + 300)) <= 4, `dragged to ${dragged}px`);

  await handle.focus();
  await page.keyboard.press("ArrowLeft");
  assert.ok(Math.abs((await panel.boundingBox()).width - (dragged + 40)) <= 2);
  await page.keyboard.press("End");
  assert.ok((await panel.boundingBox()).width <= 1600 - 240 + 2, "the graph keeps some room");
  await page.keyboard.press("Home");
  const narrow = (await panel.boundingBox()).width;
  assert.ok(Math.abs(narrow - 360) <= 2, `narrowest ${narrow}px`);

  await page.reload();
  await panel.waitFor();
  assert.ok(Math.abs((await panel.boundingBox()).width - narrow) <= 2, "remembered");
  await page.evaluate(() => localStorage.removeItem("containerops.runPanelWidth")); // for the tests after
  assertNoPageProblems(page);
});

test("a reused job links to the run and attempt that did its work, with that attempt's log", { timeout: 240_000 }, async () => {
  const flags = await mkdtemp(path.join(os.tmpdir(), "containerops-e2e-reuse-"));
  await chmod(flags, 0o755);
  try {
    await call(server, "POST", `/namespaces/${NS}/workflows`, {
      apiVersion: "containerops/v1",
      kind: "Workflow",
      metadata: { namespace: NS, name: "reuse-chain" },
      spec: {
        stages: [
          { name: "prepare", actions: [{ name: "a", jobs: [shellJob("prepare", 'echo "prepared the workspace"; echo "[COUT] READY = yes"', { outputs: ["READY"] })] }] },
          { name: "gate", actions: [{ name: "a", jobs: [shellJob("gate", "test -e /flags/open || { echo 'the gate is closed'; exit 3; }; echo open", { mounts: [{ source: flags, target: "/flags" }] })] }] },
        ],
      },
    });
    // It ran in the first run; the second re-runs the first and fails again; the third
    // re-runs the second: its `prepare` was reused twice and still points to the first.
    const first = await runToEnd(NS, "reuse-chain");
    const second = await rerunToEnd(NS, first.id);
    assert.equal(second.status, "failed");
    await writeFile(path.join(flags, "open"), "");
    const third = await rerunToEnd(NS, second.id);
    assert.equal(third.status, "succeeded");

    const page = await openPage(`/run/${NS}/${third.id}`);
    const fromRow = page.getByTestId("job-row-reused-from");
    await fromRow.waitFor();
    assert.equal(await fromRow.textContent(), `from ${first.id}`);

    await page.goto(`${server.url}/#/run/${NS}/${third.id}/prepare`);
    assert.equal(await page.getByTestId("job-reason").textContent(), "reused: it succeeded in the run this one re-runs");
    const origin = page.getByTestId("reused-from");
    await origin.getByText(`attempt 1 in run ${first.id}`).waitFor();
    await logLines(page).filter({ hasText: "prepared the workspace" }).waitFor(); // its log, here
    await screenshot(page, "run-reused-job");

    await page.getByTestId("reused-from-link").click();
    await page.waitForURL(new RegExp(`/run/${NS}/${first.id}/prepare\\?attempt=1$`));
    await page.locator('[data-testid="attempt-tab"][data-attempt="1"][aria-selected="true"]').waitFor();
    await logLines(page).filter({ hasText: "prepared the workspace" }).waitFor();
    assertNoPageProblems(page);
  } finally {
    await rm(flags, { recursive: true, force: true });
  }
});

// --- lists ------------------------------------------------------------------------------------

test("the workflow list shows each workflow's description and last run, and runs it", { timeout: 180_000 }, async () => {
  const namespace = "e2e-list";
  await call(server, "POST", `/namespaces/${namespace}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace, name: "greeter", description: "Greets whoever the run names" },
    spec: {
      params: [{ name: "who", default: "world" }],
      stages: [{ name: "only", actions: [{ name: "a", jobs: [shellJob("greet", 'echo "hello $CO_WHO"', { data: { who: "${{ params.who }}" } })] }] }],
    },
  });
  await call(server, "POST", `/namespaces/${namespace}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace, name: "idle" },
    spec: { stages: [{ name: "only", actions: [{ name: "a", jobs: [shellJob("nothing", "true")] }] }] },
  });
  const earlier = await call(server, "POST", `/namespaces/${namespace}/workflows/greeter/runs`, { params: { who: "the list" } });
  await endOf(namespace, earlier);

  const page = await openPage(`/workflows/${namespace}`);
  const greeter = page.locator('[data-testid="workflow-row"][data-name="greeter"]');
  await greeter.waitFor();
  assert.equal(await greeter.getByTestId("workflow-description").textContent(), "Greets whoever the run names");
  await greeter.getByTestId("workflow-last-run").getByText("succeeded").waitFor();
  const when = await greeter.getByTestId("workflow-last-run-time").textContent();
  assert.match(when, new RegExp(String(new Date().getFullYear())), `a date, not only a time: ${when}`);
  const idle = page.locator('[data-testid="workflow-row"][data-name="idle"]');
  assert.equal(await idle.getByTestId("workflow-last-run").textContent(), "never run");
  assert.equal(await idle.getByTestId("workflow-description").count(), 0);
  await screenshot(page, "workflow-list");

  // Run asks for the params, filled in from the last run, then opens the new run.
  await greeter.getByTestId("workflow-run").click();
  const dialog = page.getByTestId("run-dialog");
  await dialog.waitFor();
  assert.equal(await dialog.locator("input").inputValue(), "the list");
  await dialog.locator("input").fill("the Run button");
  await page.getByTestId("run-start").click();
  await page.getByTestId("run-view").waitFor();
  await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "succeeded" }).waitFor({ timeout: 60_000 });
  const runId = page.url().split("/").pop();
  const run = await call(server, "GET", `/namespaces/${namespace}/runs/${runId}`);
  assert.deepEqual(run.params, { who: "the Run button" });

  await page.goto(`${server.url}/#/workflows/${namespace}`);
  await greeter.locator(`a[title="${runId}"]`).waitFor(); // the run just made is the last one now
  assertNoPageProblems(page);
});

test("run history keeps its namespace, filters and page in the address and shows dates", { timeout: 240_000 }, async () => {
  const namespace = "e2e-history";
  await call(server, "POST", `/namespaces/${namespace}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace, name: "quick" },
    // Its job is skipped: a run needs no container, so 60 of them take seconds.
    spec: { params: [{ name: "go", default: "no" }], stages: [{ name: "s", actions: [{ name: "a", jobs: [{ ...shellJob("maybe", "true"), if: "${{ params.go == 'yes' }}" }] }] }] },
  });
  const made = [];
  for (let i = 0; i < 60; i++) made.push(await call(server, "POST", `/namespaces/${namespace}/workflows/quick/runs`, { params: {} }));
  for (const each of made) await endOf(namespace, each);

  const page = await openPage(`/runs/${namespace}`);
  await page.getByTestId("run-row").first().waitFor();
  assert.equal(await page.getByTestId("run-row").count(), 50);
  const started = await page.getByTestId("run-started").first().textContent();
  assert.match(started, new RegExp(String(new Date().getFullYear())), `a date, not only a time: ${started}`);

  await page.getByTestId("runs-status").selectOption("succeeded");
  await page.waitForURL(new RegExp(`#/runs/${namespace}\\?status=succeeded$`));
  await page.getByTestId("runs-older").click();
  await page.waitForURL(/status=succeeded&pages=[A-Za-z0-9_-]+$/);
  await page.getByTestId("runs-page").getByText("page 2").waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 10);
  const secondPage = await page.getByTestId("run-row").evaluateAll((rows) => rows.map((row) => row.dataset.run));
  assert.deepEqual(secondPage, made.slice(0, 10).map((each) => each.id).reverse(), "the oldest ten, newest first");

  // A reload, or the link given to someone, shows the same page with the same filters.
  await page.reload();
  await page.getByTestId("runs-page").getByText("page 2").waitFor();
  assert.equal(await page.getByTestId("runs-status").inputValue(), "succeeded");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 10);
  assert.deepEqual(await page.getByTestId("run-row").evaluateAll((rows) => rows.map((row) => row.dataset.run)), secondPage);
  await screenshot(page, "run-history-page-2");

  await page.goBack();
  await page.waitForURL(new RegExp(`#/runs/${namespace}\\?status=succeeded$`));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 50);

  // The namespace picker keeps the state filter and starts at the newest page.
  await page.getByTestId("runs-namespace").selectOption("examples");
  await page.waitForURL(/#\/runs\/examples\?status=succeeded$/);
  await page.getByRole("heading", { name: "Runs in examples" }).waitFor();
  assertNoPageProblems(page);
});

test("the registry opens a namespace that has components and lists only those", { timeout: 60_000 }, async () => {
  const page = await openPage("/registry");
  await page.waitForURL(/#\/registry\/containerops$/);
  await page.getByTestId("component-list").waitFor();
  const listed = await page.getByTestId("registry-namespaces").locator("li").allTextContents();
  assert.deepEqual(listed, ["containerops"], "namespaces of workflows alone are left out");
  assertNoPageProblems(page);
});

test("a cancel says cancelling… and keeps the button disabled until the containers are gone", { timeout: 120_000 }, async () => {
  // A job that takes three seconds to end once asked to: long enough to see the cancel under way.
  const job = shellJob("slow-stop", "trap 'sleep 3; exit 143' TERM; echo dozing; sleep 120 & wait");
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name: "slow-stop" },
    spec: { stages: [{ name: "only", actions: [{ name: "a", jobs: [job] }] }] },
  });
  const run = await call(server, "POST", `/namespaces/${NS}/workflows/slow-stop/runs`, { params: {} });
  const page = await openPage(`/run/${NS}/${run.id}`);
  await page.locator('[data-testid="job-node"][data-job="slow-stop"][data-status="running"]').waitFor({ timeout: 60_000 });
  const cancel = page.getByTestId("cancel");

  await cancel.click();
  await page.getByRole("button", { name: "Cancelling…" }).waitFor({ timeout: 10_000 });
  assert.equal(await cancel.isDisabled(), true, "a second click cannot ask again");
  await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "cancelled" }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId("cancel").count(), 0, "nothing left to cancel");
  assertNoPageProblems(page);
});
