// A server that needs a token: the designer asks for it once and keeps it for the session.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertNoPageProblems, launchBrowser, startServer } from "./harness.mjs";

const TOKEN = "e2e-token-5f1d";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: true, token: TOKEN });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the designer asks for the server's token once, and works with it", { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/#/workflows/examples`);
  const prompt = page.getByLabel("This server needs its API token");
  await prompt.waitFor();

  await prompt.fill("not-the-token");
  await prompt.press("Enter");
  await page.waitForLoadState("load");
  await prompt.waitFor(); // refused: asked again

  await prompt.fill(TOKEN);
  await prompt.press("Enter");
  await page.getByTestId("workflow-list").getByText("ci", { exact: true }).waitFor();
  assert.equal(await prompt.count(), 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("containerops.token")), TOKEN);
  assert.ok(!(await page.content()).includes(TOKEN), "the token is never shown in the page");

  await page.reload();
  await page.getByTestId("workflow-list").getByText("ci", { exact: true }).waitFor();
  assert.equal(await prompt.count(), 0, "not asked again in the same session");
  assertNoPageProblems(page, { allow: [/status of 401 \(Unauthorized\)/] });
});
