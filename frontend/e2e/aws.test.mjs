// The designer against the AWS path: `containerops serve --backend aws-sandbox` answers the
// API the way a deployment does (DynamoDB, Step Functions, ECS and CloudWatch Logs played by
// moto in the server's process, the jobs on the real Docker engine). The same screens, the
// same clicks: a user runs the cloud twin of the example CI from the designer, sees every
// job green and reads a job's log, which comes from CloudWatch Logs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: true, backend: "aws-sandbox" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const jobNode = (page, name) => page.locator(`[data-testid="job-node"][data-job="${name}"]`);

test("on the AWS path, a user runs the cloud CI from the designer and reads a job's log", { timeout: 180_000 }, async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  await page.goto(`${server.url}/#/designer/examples/ci-cloud`);
  await page.getByTestId("designer").waitFor();
  await jobNode(page, "clone").waitFor();

  await page.getByTestId("run").click();
  await page.getByTestId("run-dialog").waitFor();
  await page.getByTestId("run-start").click();
  await page.getByTestId("run-view").waitFor();
  await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "succeeded" }).waitFor({ timeout: 150_000 });
  for (const name of ["source", "clone", "lint", "test", "package", "release"]) {
    assert.equal(await jobNode(page, name).getAttribute("data-status"), "succeeded", name);
  }

  await jobNode(page, "clone").click();
  await page.getByTestId("job-details").waitFor();
  await page.getByTestId("log-view").getByText("[git-clone] cloning /workspace/sample.git into /workspace/src").waitFor();
  await page.locator(".log-cout", { hasText: "[COUT] COMMIT = " }).waitFor();
  await screenshot(page, "aws-run-logs");
  assertNoPageProblems(page);
});
