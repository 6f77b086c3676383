// A workflow's versions, as a daily user meets them: the list of saved versions with the
// diff of any two, a stored version opened read-only in the designer (shown, checked, never
// changed), and switching a workflow off and on and deleting it from the workflow list.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { busyboxComponent, call, publish } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "versions";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await publish(server, busyboxComponent(NS, "say", {
    script: 'echo "$CO_WORDS"',
    inputs: [{ name: "words", required: true }],
  }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const job = (name, words) => ({ name, component: `${NS}/say@1.0.0`, data: { words } });

/** Six jobs in three stages: enough lines around the changed one for the diff to fold. */
function definition(name, greeting) {
  return {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name, description: "says things" },
    spec: {
      stages: [
        { name: "first", actions: [{ name: "a", jobs: [job("one", "one"), job("two", "two")] }] },
        { name: "second", actions: [{ name: "b", jobs: [job("three", "three"), job("greet", greeting)] }] },
        { name: "third", actions: [{ name: "c", jobs: [job("five", "five"), job("six", "six")] }] },
      ],
    },
  };
}

/** Version 1 says hello; version 2 says goodbye instead. */
async function twoVersions(name) {
  await call(server, "POST", `/namespaces/${NS}/workflows`, definition(name, "hello there"));
  const second = await call(server, "PUT", `/namespaces/${NS}/workflows/${name}`, {
    expected_version: 1,
    definition: definition(name, "goodbye now"),
  });
  assert.equal(second.version, 2);
}

async function newPage() {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  page.on("dialog", (dialog) => {
    throw new Error(`a browser dialog opened: ${dialog.message()}`);
  });
  return page;
}

const row = (page, name) => page.locator(`[data-testid="workflow-row"][data-name="${name}"]`);
const versionRow = (page, version) => page.locator(`[data-testid="version-row"][data-version="${version}"]`);

test("the designer's Versions link lists both saved versions, and the diff shows the changed line", { timeout: 60_000 }, async () => {
  await twoVersions("diffed");
  const page = await newPage();
  await page.goto(`${server.url}/#/designer/${NS}/diffed`);
  await page.getByTestId("job-node").first().waitFor();
  await page.getByTestId("versions-link").click();
  await page.getByTestId("version-list").waitFor();
  assert.match(page.url(), /#\/versions\/versions\/diffed/);

  assert.equal(await page.getByTestId("version-row").count(), 2);
  assert.deepEqual(await page.getByTestId("version-row").evaluateAll((rows) => rows.map((r) => r.dataset.version)), ["2", "1"]);
  assert.match(await versionRow(page, 2).innerText(), /latest/);
  assert.doesNotMatch(await versionRow(page, 1).innerText(), /latest/);
  const year = String(new Date().getFullYear());
  assert.ok((await versionRow(page, 1).locator("time").innerText()).includes(year), "each version says the date it was saved");

  // By default: the latest against the one before.
  await page.getByTestId("diff").waitFor();
  assert.equal(await page.getByTestId("diff-title").innerText(), "From version 1 to version 2");
  const removed = page.locator('[data-testid="diff-line"][data-kind="removed"]');
  const added = page.locator('[data-testid="diff-line"][data-kind="added"]');
  assert.equal(await removed.count(), 1);
  assert.equal(await added.count(), 1);
  assert.match(await removed.innerText(), /words: hello there/);
  assert.match(await added.innerText(), /words: goodbye now/);
  assert.match(await page.getByTestId("diff-counts").innerText(), /\+1\s+−1/);

  // The unchanged runs are folded; a click opens one.
  const folds = page.getByTestId("diff-fold");
  const foldCount = await folds.count();
  assert.ok(foldCount >= 1, "the unchanged lines around the change are folded");
  const linesBefore = await page.getByTestId("diff-line").count();
  await folds.first().locator("button").click();
  assert.equal(await folds.count(), foldCount - 1);
  assert.ok((await page.getByTestId("diff-line").count()) > linesBefore);
  await screenshot(page, "versions-diff");

  // Picking the same version on both sides says there is nothing to compare, in the address too.
  await versionRow(page, 1).getByTestId("pick-to").check();
  await page.waitForFunction(() => window.location.hash.includes("to=1"));
  assert.match(page.url(), /from=1&to=1/);
  await page.getByText("Pick two different versions").waitFor();
  await versionRow(page, 2).getByTestId("pick-to").check();
  await page.getByTestId("diff").waitFor();
  assert.equal(await page.locator('[data-testid="diff-line"][data-kind="added"]').count(), 1);
  assertNoPageProblems(page);
  await page.close();
});

test("version 1 opens read-only: its content is shown and nothing can be edited", { timeout: 60_000 }, async () => {
  await twoVersions("pinned");
  const page = await newPage();
  await page.goto(`${server.url}/#/versions/${NS}/pinned`);
  await versionRow(page, 1).getByTestId("open-version").click();
  await page.getByTestId("read-only").waitFor();
  assert.match(page.url(), /#\/designer\/versions\/pinned\?version=1$/);
  assert.match(await page.getByTestId("read-only").innerText(), /Version 1, read-only/);

  // Every command that would change something is disabled; there is no palette to drag from.
  for (const id of ["save", "run", "add-stage", "undo", "redo"]) {
    assert.equal(await page.getByTestId(id).isDisabled(), true, `${id} is disabled`);
  }
  assert.equal(await page.getByTestId("palette").count(), 0);
  assert.equal(await page.getByTestId("check").isEnabled(), true);

  // The job panel shows version 1's value, in fields that cannot be changed.
  const greet = page.locator('[data-testid="job-node"][data-job="greet"]');
  await greet.click();
  const panel = page.locator(".side-panel .panel-fields"); // beside it only the panel's hide button
  await panel.locator("input, textarea, select").first().waitFor();
  const values = await panel.locator("input, textarea").evaluateAll((fields) => fields.map((field) => field.value));
  assert.ok(values.includes("hello there"), `the panel shows version 1's words (${values.join(", ")})`);
  assert.equal(await panel.locator("input:enabled, textarea:enabled, select:enabled, button:enabled").count(), 0);

  // Dragging a job (it pans the canvas instead), the Delete key and Ctrl+Z change nothing.
  const one = page.locator('[data-testid="job-node"][data-job="one"]');
  const offset = async () => {
    const [a, b] = [await greet.boundingBox(), await one.boundingBox()];
    return { x: Math.round(a.x - b.x), y: Math.round(a.y - b.y) };
  };
  const before = await offset();
  const start = await greet.boundingBox();
  await page.mouse.move(start.x + start.width / 2, start.y + 10);
  await page.mouse.down();
  await page.mouse.move(start.x + start.width / 2 + 200, start.y + 150, { steps: 8 });
  await page.mouse.up();
  assert.deepEqual(await offset(), before, "the job did not move among the others");
  await greet.click();
  await page.keyboard.press("Delete");
  await page.keyboard.press("Control+z");
  assert.equal(await greet.count(), 1, "the selected job is still there");
  assert.equal(await page.locator(".react-flow__node.draggable").count(), 0);

  // Check still checks it; the YAML tab shows version 1's text, read-only.
  await page.getByTestId("check").click();
  await page.getByTestId("notice").getByText("No problems").waitFor();
  await page.getByRole("tab", { name: "YAML" }).click();
  const yaml = page.getByTestId("yaml-readonly");
  await yaml.waitFor();
  const text = await yaml.innerText();
  assert.match(text, /words: hello there/);
  assert.doesNotMatch(text, /goodbye/);
  assert.equal(text.match(/- name: /g)?.length, 3 + 3 + 6, "every stage, action and job is still there");
  assert.equal(await yaml.evaluate((element) => element.isContentEditable), false);
  assert.equal(await page.locator(".designer-main textarea, .designer-main [contenteditable=true]").count(), 0);
  await screenshot(page, "versions-read-only");

  // Nothing was saved; the link goes to the latest, to edit.
  assert.equal((await call(server, "GET", `/namespaces/${NS}/workflows/pinned`)).version, 2);
  await page.getByTestId("open-latest").click();
  await page.getByTestId("saved-version").waitFor();
  assert.equal(await page.getByTestId("read-only").count(), 0);
  assert.match(await page.getByTestId("saved-version").innerText(), /v2/);
  assert.equal(await page.getByTestId("palette").count(), 1);
  assertNoPageProblems(page);
  await page.close();
});

test("a disabled workflow's Run buttons are disabled and the API refuses a run, until it is enabled again", { timeout: 60_000 }, async () => {
  await twoVersions("switched");
  const page = await newPage();
  await page.goto(`${server.url}/#/workflows/${NS}`);
  const switched = row(page, "switched");
  await switched.waitFor();
  const toggle = switched.getByTestId("workflow-enabled");
  const run = switched.getByTestId("workflow-run");
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await run.isEnabled(), true);

  await toggle.click();
  await page.waitForFunction(
    (name) => document.querySelector(`[data-testid="workflow-row"][data-name="${name}"] [data-testid="workflow-run"]`)?.disabled,
    "switched",
  );
  assert.equal(await toggle.isChecked(), false);
  assert.match(await switched.innerText(), /Disabled/);
  assert.match(await run.getAttribute("title"), /disabled/);
  assert.equal((await call(server, "GET", `/namespaces/${NS}/workflows/switched`)).enabled, false);
  await assert.rejects(
    call(server, "POST", `/namespaces/${NS}/workflows/switched/runs`, { params: {} }),
    /answered 409.*disabled/,
  );

  // The designer says so too, and can enable it again from its toolbar.
  await page.goto(`${server.url}/#/designer/${NS}/switched`);
  const designerSwitch = page.locator(".toolbar").getByTestId("workflow-enabled");
  await designerSwitch.waitFor();
  assert.equal(await designerSwitch.isChecked(), false);
  assert.equal(await page.getByTestId("run").isDisabled(), true);
  assert.match(await page.getByTestId("run").getAttribute("title"), /disabled/);
  await designerSwitch.click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run"]')?.disabled === false);
  assert.equal((await call(server, "GET", `/namespaces/${NS}/workflows/switched`)).enabled, true);

  // And the list shows it enabled, its Run button back.
  await page.goto(`${server.url}/#/workflows/${NS}`);
  await switched.waitFor();
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await run.isEnabled(), true);
  assert.match(await switched.innerText(), /Enabled/);

  // Switched off and on from the list too.
  await toggle.click();
  await page.waitForFunction(
    (name) => document.querySelector(`[data-testid="workflow-row"][data-name="${name}"] [data-testid="workflow-run"]`)?.disabled,
    "switched",
  );
  await toggle.click();
  await page.waitForFunction(
    (name) => document.querySelector(`[data-testid="workflow-row"][data-name="${name}"] [data-testid="workflow-run"]`)?.disabled === false,
    "switched",
  );
  assert.equal((await call(server, "GET", `/namespaces/${NS}/workflows/switched`)).enabled, true);
  assertNoPageProblems(page);
  await page.close();
});

test("delete asks for the workflow's name first, then the workflow is gone", { timeout: 60_000 }, async () => {
  await twoVersions("doomed");
  const page = await newPage();
  await page.goto(`${server.url}/#/workflows/${NS}`);
  const doomed = row(page, "doomed");
  await doomed.waitFor();

  // Cancelling keeps it.
  await doomed.getByTestId("workflow-delete").click();
  const dialog = page.getByTestId("delete-dialog");
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Delete versions\/doomed\?/);
  assert.equal(await page.getByTestId("delete-confirm").isDisabled(), true);
  await page.getByTestId("delete-confirm-name").fill("doome");
  assert.equal(await page.getByTestId("delete-confirm").isDisabled(), true);
  await page.getByTestId("delete-cancel").click();
  assert.equal(await dialog.count(), 0);
  assert.equal((await call(server, "GET", `/namespaces/${NS}/workflows/doomed`)).version, 2);

  // Typing its name and confirming deletes it.
  await doomed.getByTestId("workflow-delete").click();
  await page.getByTestId("delete-confirm-name").fill("doomed");
  await page.getByTestId("delete-confirm").click();
  await doomed.waitFor({ state: "detached" });
  assert.equal(await dialog.count(), 0);
  await assert.rejects(call(server, "GET", `/namespaces/${NS}/workflows/doomed`), /answered 404/);
  await assert.rejects(call(server, "GET", `/namespaces/${NS}/workflows/doomed/versions`), /answered 404/);
  assert.ok(!(await call(server, "GET", `/namespaces/${NS}/workflows`)).workflows.some((w) => w.name === "doomed"));

  // Its versions view says it is not found.
  await page.goto(`${server.url}/#/versions/${NS}/doomed`);
  await page.getByRole("alert").getByText(/not found|no workflow|unknown/i).waitFor();
  assertNoPageProblems(page, { allow: [/status of 404/] });
  await page.close();
});
