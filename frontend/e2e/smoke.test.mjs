// The designer is served by `containerops serve` and renders in a real browser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

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

test("the designer loads at the server's root", { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  const answer = await page.goto(`${server.url}/`, { waitUntil: "load" });
  assert.equal(answer?.status(), 200);
  assert.equal(await page.title(), "ContainerOps");

  await page.waitForFunction(() => (document.getElementById("root")?.childElementCount ?? 0) > 0);
  const brand = page.locator("header.top").getByRole("link", { name: "ContainerOps" });
  await brand.waitFor({ state: "visible" });

  await screenshot(page, "home");
  assertNoPageProblems(page);
});
