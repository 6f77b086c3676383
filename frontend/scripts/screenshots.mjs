// The README's screenshots, made the way a user sees the pages: a real `containerops serve`
// with the examples loaded, the example CI workflow run on Docker against the sample
// repository, then the designer, the run page (graph and log search, timeline), the
// versions view and the dark theme, in headless Chromium. `make screenshots` runs it after
// building the designer; the pictures land in docs/screenshots/.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { call } from "../e2e/api.mjs";
import { REPO_DIR, launchBrowser, startServer } from "../e2e/harness.mjs";

const OUT = path.join(REPO_DIR, "docs", "screenshots");
const NS = "examples";
const SIZE = { width: 1440, height: 900 };

async function runToEnd(server, started) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const run = await call(server, "GET", `/namespaces/${NS}/runs/${started.id}`);
    if (["succeeded", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${started.id} did not end: ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The example CI workflow run once on the sample repository (in the allowed temp folder). */
async function runExampleCi(server, folder) {
  const repo = path.join(folder, "sample.git");
  const releases = path.join(folder, "releases");
  execFileSync("bash", [path.join(REPO_DIR, "examples", "make-sample-repo.sh"), repo], { stdio: "ignore" });
  await mkdir(releases);
  await chmod(releases, 0o777);
  const params = { "repo-dir": repo, "release-dir": releases };
  const started = await call(server, "POST", `/namespaces/${NS}/workflows/ci/runs`, { params });
  const run = await runToEnd(server, started);
  if (run.status !== "succeeded") throw new Error(`the example CI run ${run.id} ${run.status}: ${run.reason}`);
  return run;
}

/** A second version of the example CI workflow, so the versions view has a diff to show. */
async function saveSecondVersion(server) {
  const stored = await call(server, "GET", `/namespaces/${NS}/workflows/ci`);
  const definition = structuredClone(stored.definition);
  definition.metadata.description = "Clone, lint, test, package and release the sample project.";
  definition.spec.timeout = "20m";
  await call(server, "PUT", `/namespaces/${NS}/workflows/ci`, { expected_version: stored.version, definition });
}

async function shoot(page, name) {
  await page.waitForTimeout(400); // transitions and the canvas's fit settle
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

const folder = await mkdtemp(path.join(os.tmpdir(), "containerops-screenshots-"));
const browser = await launchBrowser();
const server = await startServer({ loadExamples: true });
try {
  await mkdir(OUT, { recursive: true });
  const run = await runExampleCi(server, folder);
  await saveSecondVersion(server);
  const page = await browser.newPage();
  await page.setViewportSize(SIZE);
  await page.emulateMedia({ colorScheme: "light" });

  await page.goto(`${server.url}/#/designer/${NS}/ci`);
  await page.locator(".react-flow__node").first().waitFor();
  await shoot(page, "designer");

  await page.goto(`${server.url}/#/run/${NS}/${run.id}/test`);
  await page.getByTestId("log-line").first().waitFor();
  await page.getByTestId("log-search").fill("PASSED");
  await page.getByTestId("log-match-count").waitFor();
  await shoot(page, "run-view");

  await page.goto(`${server.url}/#/run/${NS}/${run.id}`);
  await page.getByTestId("run-tab-timeline").click();
  await page.getByTestId("timeline-bar").first().waitFor();
  await shoot(page, "run-timeline");

  await page.goto(`${server.url}/#/versions/${NS}/ci`);
  await page.getByText("timeout").first().waitFor();
  await shoot(page, "versions");

  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(`${server.url}/#/designer/${NS}/ci`);
  await page.locator(".react-flow__node").first().waitFor();
  await shoot(page, "designer-dark");
} finally {
  await browser.close();
  await server.stop();
  await rm(folder, { recursive: true, force: true });
}
