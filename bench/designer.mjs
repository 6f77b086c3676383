// The designer with a 500-job workflow, in real Chromium against a real server.
//
// Measures, for a 500-job workflow and a 5-job baseline in the same run:
//   - the designer's first render: navigation start -> the fitted view's job nodes on the
//     canvas (it opens at a readable zoom: a large workflow's first stages), then the time
//     from a click on "fit view" until every job node is drawn;
//   - the run view's first render: navigation start -> every job node showing its state
//     (the run's jobs are all skipped by their `if`, so no container is needed);
//   - dragging a job node: the frame times while the mouse moves it (p50 / p95 / max);
//   - a job's log of 100,000 lines: time until all are loaded in the log view, and the
//     frame times while scrolling through it, against a 100-line log;
//   - the run view of a fan-out job of 10,000 instances (against 10): navigation start -> its
//     group node's bar and the grid of its instances drawn (its first page of cells). The
//     job is a matrix of 10,000 values whose `if` reads the instance's value and is false for
//     each: the engine decides and records every instance (skipped), no container needed, so
//     the run view reads 10,000 real instance records, as after a real run.
// Targets on this 2-core machine: first render <= 2 s, frames under 50 ms while dragging.
//
//     make bench-designer        (or: node bench/designer.mjs [--jobs 500])

import { parseArgs } from "node:util";
import { call, publish, busyboxComponent } from "../frontend/e2e/api.mjs";
import { launchBrowser, startServer } from "../frontend/e2e/harness.mjs";

const NS = "bench";
const { values: options } = parseArgs({ options: { jobs: { type: "string", default: "500" } } });

/** `jobs` jobs in stages of 5 actions x 10 jobs; each job after the first stage reads an
 * output of a job of the stage before, so the canvas carries as many links as jobs. */
function workflow(name, jobs) {
  const perAction = Math.min(10, jobs);
  const perStage = Math.min(5 * perAction, jobs);
  const stages = [];
  for (let first = 0, s = 0; first < jobs; first += perStage, s++) {
    const actions = [];
    for (let a = 0; a * perAction < Math.min(perStage, jobs - first); a++) {
      const list = [];
      for (let j = 0; j < perAction && first + a * perAction + j < jobs; j++) {
        const number = first + a * perAction + j;
        const data = s === 0 ? {} : { in: `\${{ jobs.j${number - perStage}.outputs.OUT }}` };
        list.push({ name: `j${number}`, component: `${NS}/step@1.0.0`, data, if: "${{ params.go == 'yes' }}" });
      }
      actions.push({ name: `a${a}`, jobs: list });
    }
    stages.push({ name: `s${s}`, actions });
  }
  return {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name },
    spec: { params: [{ name: "go", default: "no" }], stages },
  };
}

const percentile = (values, fraction) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round(fraction * (sorted.length - 1)))] ?? NaN;
};

async function firstRender(browser, url, jobs, selector) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  await page.goto(url);
  await page.waitForFunction(
    ([css, count]) => document.querySelectorAll(css).length >= count,
    [selector, jobs],
    { timeout: 60_000, polling: "raf" },
  );
  const ms = await page.evaluate(() => performance.now());
  return { page, ms };
}

/** Start noting the time between frames the page paints. */
const recordFrames = (page) =>
  page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(tick);
    };
    window.__recording = true;
    requestAnimationFrame(tick);
  });

/** Stop, and give the frame times (ms) noted since `recordFrames`. */
const recordedFrames = (page) =>
  page.evaluate(() => {
    window.__recording = false;
    return window.__frames.slice(1);
  });

async function dragFrames(page, jobName) {
  const node = page.locator(`[data-testid="job-node"][data-job="${jobName}"] .job-title`);
  const box = await node.boundingBox();
  await recordFrames(page);
  await page.mouse.move(box.x + 20, box.y + 5);
  await page.mouse.down();
  for (let step = 1; step <= 40; step++) {
    await page.mouse.move(box.x + 20 + step * 4, box.y + 5 + step * 2);
  }
  const frames = await recordedFrames(page);
  const moved = await node.boundingBox();
  await page.mouse.up();
  if (!moved || Math.abs(moved.x - box.x) < 40) throw new Error(`job ${jobName} did not follow the mouse`);
  return frames;
}

async function scrollFrames(page) {
  const box = await page.getByTestId("log-view").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await recordFrames(page);
  const scrolled = () => page.evaluate(() => document.querySelector(".log-scroll").scrollTop);
  const start = await scrolled();
  for (let step = 0; step < 40; step++) {
    await page.mouse.wheel(0, step < 20 ? -2500 : 1200);
    await page.waitForTimeout(16);
    if (step === 19 && (await scrolled()) >= start) throw new Error("the log did not scroll");
  }
  return recordedFrames(page);
}

/** A job printing `lines` lines: time until the log view holds them all, then scrolling. */
async function measureLog(browser, server, lines) {
  const name = `log-${lines}`;
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name },
    spec: { stages: [{ name: "s", actions: [{ name: "a", jobs: [{ name: "talk", image: "containerops/busybox:1", command: ["sh", "-c", `seq 1 ${lines} | sed 's/^/line of the build output, number /'`] }] }] }] },
  });
  const run = await call(server, "POST", `/namespaces/${NS}/workflows/${name}/runs`, { params: {} });
  await waitForRun(server, run.id);
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  await page.goto(`${server.url}/#/run/${NS}/${run.id}/talk`);
  const expected = `${lines.toLocaleString("en-US")} lines`;
  await page.waitForFunction(
    (text) => document.querySelector('[data-testid="log-count"]')?.textContent?.replace(/\u202f|\u00a0/g, ",") === text,
    expected,
    { timeout: 120_000, polling: "raf" },
  );
  const loaded = await page.evaluate(() => performance.now());
  const frames = await scrollFrames(page);
  await page.close();
  return { loaded, frames };
}

/** A run of one job of `shards` instances: its run view's first render, the grid of its instances open. */
async function measureFanOut(browser, server, shards) {
  const name = `fan-out-${shards}`;
  const values = Array.from({ length: shards }, (_, index) => String(index));
  const job = { name: "test", image: "containerops/busybox:1", command: ["true"], matrix: { n: values },
                if: "${{ matrix.n == 'none' }}" };
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name },
    spec: { stages: [{ name: "s", actions: [{ name: "a", jobs: [job] }] }] },
  });
  const run = await call(server, "POST", `/namespaces/${NS}/workflows/${name}/runs`, { params: {} });
  await waitForRun(server, run.id);
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  await page.goto(`${server.url}/#/run/${NS}/${run.id}/test`);
  await page.waitForFunction(
    (count) =>
      document.querySelector('[data-testid="instance-grid"]')?.getAttribute("data-total") === String(count) &&
      document.querySelectorAll('[data-testid="instance-cell"]').length >= Math.min(count, 50) &&
      document.querySelector('[data-testid="job-node"] [data-testid="fan-out-bar"], [data-testid="timeline-row"]') !== null,
    shards,
    { timeout: 60_000, polling: "raf" },
  );
  const ms = await page.evaluate(() => performance.now());
  await page.close();
  return ms;
}

async function waitForRun(server, runId) {
  for (let wait = 0; ; wait++) {
    const status = (await call(server, "GET", `/namespaces/${NS}/runs/${runId}`)).status;
    if (["succeeded", "failed", "cancelled"].includes(status)) return status;
    if (wait > 3000) throw new Error(`run ${runId} did not finish`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Time from a click on the canvas's "fit view" button until all `jobs` job nodes are drawn. */
async function wholeDrawn(page, jobs) {
  const start = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: "Fit View" }).click();
  await page.waitForFunction((count) => document.querySelectorAll('[data-testid="job-node"]').length >= count, jobs, {
    timeout: 60_000,
    polling: "raf",
  });
  return (await page.evaluate(() => performance.now())) - start;
}

async function measure(browser, server, name, jobs) {
  await call(server, "POST", `/namespaces/${NS}/workflows`, workflow(name, jobs));
  // The designer opens at a readable zoom (issue 11, item 2): a large workflow shows its first
  // stages, so its first render is the fitted view's job nodes; then "fit view" draws them all,
  // and the drag is measured with every job on screen, as before.
  const designer = await firstRender(
    browser,
    `${server.url}/#/designer/${NS}/${name}`,
    1,
    '[data-testid="canvas"][data-fitted="true"] [data-testid="job-node"]',
  );
  const whole = await wholeDrawn(designer.page, jobs);
  const frames = await dragFrames(designer.page, `j${Math.floor(jobs / 2)}`);
  await designer.page.close();

  const run = await call(server, "POST", `/namespaces/${NS}/workflows/${name}/runs`, { params: {} });
  await waitForRun(server, run.id);
  const runView = await firstRender(
    browser,
    `${server.url}/#/run/${NS}/${run.id}`,
    jobs,
    '[data-testid="job-node"][data-status="skipped"]',
  );
  await runView.page.close();
  return { designer: designer.ms, whole, runView: runView.ms, frames };
}

const jobs = Number(options.jobs);
const server = await startServer({ loadExamples: false });
const browser = await launchBrowser();
try {
  await publish(server, busyboxComponent(NS, "step", { script: "echo '[COUT] OUT = x'", inputs: [{ name: "in" }], outputs: ["OUT"] }));
  const baseline = await measure(browser, server, "baseline", 5);
  const large = await measure(browser, server, "large", jobs);
  const show = (label, value, base) => console.log(`  ${label.padEnd(36)} ${value.toFixed(0).padStart(6)} ms   (baseline: ${base.toFixed(0)} ms, ratio ${(value / base).toFixed(2)})`);
  console.log(`designer benchmark: ${jobs} jobs against a 5-job baseline, Chromium headless`);
  show("designer first render", large.designer, baseline.designer);
  show("designer: every job drawn after Fit View", large.whole, baseline.whole);
  show("run view first render", large.runView, baseline.runView);
  for (const [label, fraction] of [["p50", 0.5], ["p95", 0.95], ["max", 1]]) {
    show(`frame while dragging a job, ${label}`, percentile(large.frames, fraction), percentile(baseline.frames, fraction));
  }
  const smallLog = await measureLog(browser, server, 100);
  const largeLog = await measureLog(browser, server, 100_000);
  show("log of 100,000 lines loaded", largeLog.loaded, smallLog.loaded);
  for (const [label, fraction] of [["p50", 0.5], ["p95", 0.95], ["max", 1]]) {
    show(`frame while scrolling the log, ${label}`, percentile(largeLog.frames, fraction), percentile(smallLog.frames, fraction));
  }
  const fewInstances = await measureFanOut(browser, server, 10);
  const manyInstances = await measureFanOut(browser, server, 10_000);
  show("run view, a job of 10,000 instances", manyInstances, fewInstances);
  console.log("  targets: first render <= 2000 ms; frames while dragging < 50 ms");
} finally {
  await browser.close();
  await server.stop();
}
