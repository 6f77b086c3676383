// Editing in the designer as a daily user does: typing that counts at once, renaming a stage
// on the canvas, values and links that can be seen, the keyboard, and nothing lost without
// asking (leaving with unsaved changes, undo and redo, deleting what has content).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { busyboxComponent, call, publish } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "editing";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await publish(server, busyboxComponent(NS, "source", {
    script: 'echo "[COUT] VERSION = 1.0.$CO_PATCH"',
    inputs: [{ name: "patch", default: "3" }],
    outputs: ["VERSION"],
  }));
  await publish(server, busyboxComponent(NS, "builder", {
    script: 'echo "[COUT] ARTIFACT = app-$CO_VERSION.tgz"',
    inputs: [{ name: "version", required: true }, { name: "flavour" }, { name: "target" }],
    outputs: ["ARTIFACT"],
  }));
  await publish(server, busyboxComponent(NS, "announce", {
    script: 'echo "released $CO_ARTIFACT"',
    inputs: [{ name: "artifact", required: true }],
  }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const job = (name, component, data = {}) => ({ name, component: `${NS}/${component}@1.0.0`, data });
const stage = (name, ...jobs) => ({ name, actions: [{ name: jobs[0]?.name ?? "a", jobs }] });

/** source -> builder -> announce, each in its own stage; builder's flavour comes from a param. */
async function createWorkflow(name) {
  return call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name },
    spec: {
      params: [{ name: "flavour", default: "slim" }],
      stages: [
        stage("prepare", job("source", "source")),
        stage("build", job("builder", "builder", {
          version: "${{ jobs.source.outputs.VERSION }}",
          flavour: "${{ params.flavour }}",
        })),
        stage("ship", job("announce", "announce", { artifact: "${{ jobs.builder.outputs.ARTIFACT }}" })),
      ],
    },
  });
}

const saved = (name) => call(server, "GET", `/namespaces/${NS}/workflows/${name}`);

async function openDesigner(name) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  page.on("dialog", (dialog) => {
    throw new Error(`a browser dialog opened: ${dialog.message()}`);
  });
  await page.goto(`${server.url}/#/designer/${NS}/${name}`);
  await page.getByTestId("designer").waitFor();
  await page.getByTestId("job-node").first().waitFor();
  await page.locator('[data-testid="canvas"][data-fitted="true"]').waitFor(); // drawn where it stays
  return page;
}

const jobNode = (page, name) => page.locator(`[data-testid="job-node"][data-job="${name}"]`);
const stageNode = (page, name) => page.locator(`[data-testid="stage-node"][data-stage="${name}"]`);
const viewport = (page) => page.locator(".react-flow__viewport").getAttribute("style");
// The canvas's zoom alone: a rename may change the toolbar's height, and the first view
// stays centred in the canvas it has (a pan), which is no zoom.
const zoom = (page) =>
  page.locator(".react-flow__viewport").evaluate((element) => new DOMMatrixReadOnly(getComputedStyle(element).transform).a);

// --- 1. edits count as the user types ---------------------------------------------------

test("what is typed in a job's field counts at once: Save is enabled while typing and one click saves it", { timeout: 60_000 }, async () => {
  await createWorkflow("typed");
  const page = await openDesigner("typed");
  assert.equal(await page.getByTestId("save").isDisabled(), true, "nothing to save yet");
  await jobNode(page, "builder").click();
  await page.getByTestId("input-target").click();
  await page.keyboard.type("linux-arm64");
  // The field still has the focus: nothing has left it, and yet the draft has changed.
  assert.equal(await page.getByTestId("input-target").evaluate((input) => input === document.activeElement), true);
  assert.equal(await page.getByTestId("save").isEnabled(), true, "Save is enabled while typing");
  await page.getByTestId("saved-version").getByText("changed").waitFor();

  await page.getByTestId("save").click(); // the first click saves
  await page.getByTestId("notice").getByText("Saved version 2").waitFor();
  const { definition } = await saved("typed");
  assert.equal(definition.spec.stages[1].actions[0].jobs[0].data.target, "linux-arm64");
  assertNoPageProblems(page);
});

test("Check right after typing checks what was typed", { timeout: 60_000 }, async () => {
  await createWorkflow("checked");
  const page = await openDesigner("checked");
  await jobNode(page, "builder").click();
  await page.getByTestId("check").click();
  await page.getByTestId("notice").getByText("No problems").waitFor();
  await page.getByRole("textbox", { name: "Timeout" }).click();
  await page.keyboard.type("soon");
  await page.getByTestId("check").click(); // one click, with the focus still in the field
  await page.getByTestId("notice").getByText("problem(s)").waitFor();
  await jobNode(page, "builder").getByTestId("problem-badge").waitFor();
  assertNoPageProblems(page);
});

test("the job's name on the canvas follows the typing, and its references follow the name", { timeout: 60_000 }, async () => {
  await createWorkflow("renamed");
  const page = await openDesigner("renamed");
  await jobNode(page, "builder").click();
  const name = page.getByTestId("job-name");
  await name.click();
  await name.press("Control+a");
  await name.press("Backspace");
  // An empty name is not applied: the job keeps its last name and the field says why.
  await page.getByTestId("job-panel").getByText("A job needs a name.").waitFor();
  await jobNode(page, "builder").waitFor();
  for (const typed of ["c", "co", "com", "comp"]) {
    await page.keyboard.type(typed.at(-1));
    await jobNode(page, typed).waitFor(); // the canvas follows each keystroke
  }
  // A name another job has is refused while typed, and the canvas keeps the last good one.
  await name.fill("source");
  await page.getByTestId("job-panel").getByText("Another job is already called 'source'.").waitFor();
  assert.equal(await jobNode(page, "comp").count(), 1);
  await name.fill("compile");
  await jobNode(page, "compile").waitFor();
  assert.equal(await name.evaluate((input) => input === document.activeElement), true, "the focus stays in the field");
  assert.equal(await page.getByTestId("job-panel").getByTestId("field-error").count(), 0);

  await page.getByTestId("save").click();
  await page.getByTestId("notice").getByText("Saved version 2").waitFor();
  const { definition } = await saved("renamed");
  assert.equal(definition.spec.stages[1].actions[0].jobs[0].name, "compile");
  assert.equal(definition.spec.stages[2].actions[0].jobs[0].data.artifact, "${{ jobs.compile.outputs.ARTIFACT }}");
  assertNoPageProblems(page);
});

// --- 4. stage rename --------------------------------------------------------------------

test("double-clicking a stage's title renames it, and does not zoom the canvas", { timeout: 60_000 }, async () => {
  await createWorkflow("stages");
  const page = await openDesigner("stages");
  const before = await zoom(page);
  const title = stageNode(page, "build").locator(".stage-name");
  assert.equal(await title.getAttribute("title"), "double-click to rename");
  await title.dblclick();
  const input = page.getByRole("textbox", { name: "Stage name" });
  await input.waitFor();
  assert.equal(await zoom(page), before, "the canvas did not zoom");
  assert.equal(await input.evaluate((element) => element === document.activeElement), true);
  await input.press("Control+a");
  await page.keyboard.type("compile");
  await stageNode(page, "compile").waitFor(); // the canvas follows the typing
  await input.press("Enter");
  assert.equal(await input.count(), 0);
  await page.getByTestId("save").click();
  await page.getByTestId("notice").getByText("Saved version 2").waitFor();
  assert.equal((await saved("stages")).definition.spec.stages[1].name, "compile");

  // Escape puts the name back.
  await stageNode(page, "compile").locator(".stage-name").dblclick();
  await page.keyboard.type("-oops");
  await stageNode(page, "compile-oops").waitFor();
  await page.keyboard.press("Escape");
  await stageNode(page, "compile").waitFor();
  assert.equal(await page.getByTestId("save").isDisabled(), true, "back as saved");

  // Elsewhere on the canvas, a double-click still zooms.
  const still = await viewport(page);
  const pane = await page.locator(".react-flow__pane").boundingBox();
  await page.mouse.dblclick(pane.x + 30, pane.y + 30);
  await page.waitForFunction((style) => document.querySelector(".react-flow__viewport")?.getAttribute("style") !== style, still);
  assertNoPageProblems(page);
});

test("double-clicking an action's name renames it", { timeout: 60_000 }, async () => {
  await createWorkflow("actions");
  const page = await openDesigner("actions");
  const before = await zoom(page);
  await page.locator('[data-testid="action-node"][data-action="builder"] .action-name').dblclick();
  const input = page.getByRole("textbox", { name: "Action name" });
  await input.press("Control+a");
  await page.keyboard.type("compile");
  await input.press("Enter");
  await page.locator('[data-testid="action-node"][data-action="compile"]').waitFor();
  assert.equal(await zoom(page), before, "the canvas did not zoom");
  await screenshot(page, "designer-renamed-action");
  assertNoPageProblems(page);
});

// --- 7. values, links and the keyboard --------------------------------------------------

const handle = (page, jobName, id) => page.locator(`.react-flow__handle[data-nodeid="job:${jobName}"][data-handleid="${id}"]`);
const portValue = (page, jobName, input) =>
  jobNode(page, jobName).locator(".port-in", { has: page.locator(`.react-flow__handle[data-handleid="in:data.${input}"]`) }).getByTestId("port-value");

/** A link's curve passes through the midpoint of its two handles: click it there. */
async function clickLink(page, from, to) {
  const ends = [await from.boundingBox(), await to.boundingBox()];
  await page.mouse.click((ends[0].x + ends[1].x + ends[1].width) / 2, (ends[0].y + ends[1].y + ends[1].height) / 2);
}

const linkEdge = (page, source, target) =>
  page.locator(`.react-flow__edge[data-id^="link:job:${source}|"][data-id*="->job:${target}|"]`);

const strokeOf = (edge) =>
  edge.locator(".react-flow__edge-path").evaluate((path) => {
    const style = getComputedStyle(path);
    return { width: parseFloat(style.strokeWidth), color: style.stroke, opacity: parseFloat(getComputedStyle(path.closest(".react-flow__edge")).opacity) };
  });

test("a job's box shows what fills each input: a param, another job's output, a value or the default", { timeout: 60_000 }, async () => {
  await createWorkflow("values");
  const page = await openDesigner("values");
  const flavour = portValue(page, "builder", "flavour");
  assert.equal(await flavour.textContent(), "params.flavour");
  assert.equal(await flavour.getAttribute("data-kind"), "param");
  assert.equal(await flavour.getAttribute("title"), "${{ params.flavour }}");
  assert.equal(await portValue(page, "builder", "version").textContent(), "source.VERSION");
  assert.equal(await portValue(page, "builder", "version").getAttribute("data-kind"), "link");
  assert.equal(await portValue(page, "source", "patch").textContent(), "3");
  assert.equal(await portValue(page, "source", "patch").getAttribute("data-kind"), "default");
  assert.equal(await portValue(page, "builder", "target").count(), 0, "nothing written, no default: nothing shown");

  await jobNode(page, "builder").click();
  await page.getByTestId("input-target").click();
  await page.keyboard.type("arm64");
  assert.equal(await portValue(page, "builder", "target").textContent(), "arm64"); // while typing
  await screenshot(page, "designer-input-values");
  assertNoPageProblems(page);
});

test("a selected link is drawn above and brighter than the others, which fade", { timeout: 60_000 }, async () => {
  await createWorkflow("links");
  const page = await openDesigner("links");
  const first = linkEdge(page, "source", "builder");
  const second = linkEdge(page, "builder", "announce");
  for (const edge of [first, second]) await edge.locator(".react-flow__edge-path").waitFor();
  const plain = await strokeOf(first);
  assert.deepEqual(await strokeOf(second), plain, "unselected links look alike");

  await clickLink(page, handle(page, "source", "out:VERSION"), handle(page, "builder", "in:data.version"));
  await page.getByTestId("link-panel").waitFor();
  assert.match(await first.getAttribute("class"), /\bselected\b/);
  const selected = await strokeOf(first);
  const other = await strokeOf(second);
  assert.ok(selected.width >= 2 * plain.width, `selected ${selected.width}px against ${plain.width}px`);
  assert.notEqual(selected.color, plain.color, "the selected link has its own colour");
  assert.ok(other.opacity < 0.5 && selected.opacity === 1, "the others fade");
  await screenshot(page, "designer-selected-link");

  await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });
  assert.deepEqual(await strokeOf(first), plain, "back to plain once unselected");
  assertNoPageProblems(page);
});

test("Ctrl+S saves, from a text field too, and says when there is nothing to save", { timeout: 60_000 }, async () => {
  await createWorkflow("ctrl-s");
  const page = await openDesigner("ctrl-s");
  await page.keyboard.press("Control+s");
  await page.getByTestId("notice").getByText("Nothing to save: no change since version 1.").waitFor();

  await jobNode(page, "builder").click();
  await page.getByTestId("input-target").click();
  await page.keyboard.type("riscv");
  await page.keyboard.press("Control+s");
  await page.getByTestId("notice").getByText("Saved version 2").waitFor();
  assert.equal((await saved("ctrl-s")).definition.spec.stages[1].actions[0].jobs[0].data.target, "riscv");
  assertNoPageProblems(page);
});

test("Delete removes the selected job or link, and is only text in a text field", { timeout: 60_000 }, async () => {
  await createWorkflow("deleting");
  const page = await openDesigner("deleting");
  await jobNode(page, "announce").click();
  const name = page.getByTestId("job-name");
  await name.click();
  await page.keyboard.press("End");
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Delete");
  await jobNode(page, "announc").waitFor(); // a character went, the job stayed
  assert.equal(await page.getByTestId("job-node").count(), 3);

  await clickLink(page, handle(page, "source", "out:VERSION"), handle(page, "builder", "in:data.version"));
  await page.getByTestId("link-panel").waitFor();
  await page.keyboard.press("Delete");
  await page.getByTestId("notice").getByText("Removed the link from source.VERSION to builder data.version.").waitFor();
  assert.equal(await linkEdge(page, "source", "builder").count(), 0);

  await jobNode(page, "announc").click();
  await page.keyboard.press("Delete");
  await page.getByTestId("notice").getByText("Deleted job announc.").waitFor();
  assert.equal(await jobNode(page, "announc").count(), 0);
  await page.getByTestId("workflow-panel").waitFor(); // nothing is selected any more
  assertNoPageProblems(page);
});

test("? lists the shortcuts, Esc closes the list, and ? in a text field is a character", { timeout: 60_000 }, async () => {
  await createWorkflow("help");
  const page = await openDesigner("help");
  await page.keyboard.press("?");
  const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await dialog.waitFor();
  for (const keys of ["Ctrl+S", "Delete", "?"]) await dialog.locator("kbd", { hasText: keys }).first().waitFor();
  await screenshot(page, "designer-shortcuts");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });

  await page.getByRole("textbox", { name: "Description" }).first().click();
  await page.keyboard.type("why?");
  assert.equal(await page.getByRole("textbox", { name: "Description" }).first().inputValue(), "why?");
  assert.equal(await dialog.count(), 0);
  await page.getByTestId("help").click(); // and the toolbar's button opens it too
  await dialog.waitFor();
  assertNoPageProblems(page);
});

// --- 3. nothing lost without asking -----------------------------------------------------

const sequencing = (page, stageName) => stageNode(page, stageName).getByTestId("stage-sequencing");
const stageOrder = (page) => page.getByTestId("stage-node").evaluateAll((nodes) => nodes.map((node) => node.dataset.stage));

test("leaving the designer through the app's links with unsaved changes asks first", { timeout: 60_000 }, async () => {
  await createWorkflow("leaving");
  const page = await openDesigner("leaving");
  const designerUrl = page.url();
  // Nothing changed: the links just go.
  await page.getByTestId("designer").getByRole("link", { name: "Runs" }).click();
  await page.waitForURL(/#\/runs\/editing\/leaving$/);

  await page.goto(designerUrl);
  await sequencing(page, "build").click();
  await page.getByTestId("saved-version").getByText("changed").waitFor();
  const dialog = page.getByTestId("leave-dialog");
  await page.locator("header.top").getByRole("link", { name: "Runs" }).click();
  await dialog.waitFor();
  assert.equal(page.url(), designerUrl, "still in the designer while asked");
  await screenshot(page, "designer-leave-asks");
  await page.getByTestId("leave-stay").click();
  await dialog.waitFor({ state: "detached" });
  assert.equal(await sequencing(page, "build").textContent(), "in sequence", "the drawing is still there");

  await page.locator("header.top").getByRole("link", { name: "Workflows" }).click();
  await page.getByTestId("leave-save").click();
  await page.waitForURL(/#\/workflows\/editing$/);
  assert.equal((await saved("leaving")).definition.spec.stages[1].sequencing, "sequence", "saved, then left");

  await page.goto(designerUrl);
  await sequencing(page, "build").click();
  await page.getByTestId("designer").getByRole("link", { name: "Runs" }).click();
  await page.getByTestId("leave-discard").click();
  await page.waitForURL(/#\/runs\/editing\/leaving$/);
  assert.equal((await saved("leaving")).version, 2, "left without saving");
  assertNoPageProblems(page);
});

test("Ctrl+Z and Ctrl+Shift+Z undo and redo the canvas's edits", { timeout: 60_000 }, async () => {
  await createWorkflow("undo-canvas");
  const page = await openDesigner("undo-canvas");
  assert.equal(await page.getByTestId("undo").isDisabled(), true, "nothing to undo yet");
  await sequencing(page, "build").click();
  await stageNode(page, "build").getByTitle("Move right").click();
  assert.deepEqual(await stageOrder(page), ["prepare", "ship", "build"]);

  await page.keyboard.press("Control+z");
  assert.deepEqual(await stageOrder(page), ["prepare", "build", "ship"]);
  assert.equal(await sequencing(page, "build").textContent(), "in sequence");
  await page.keyboard.press("Control+z");
  assert.equal(await sequencing(page, "build").textContent(), "in parallel");
  assert.equal(await page.getByTestId("save").isDisabled(), true, "back as saved: nothing to save");
  assert.equal(await page.getByTestId("undo").isDisabled(), true);

  await page.keyboard.press("Control+Shift+Z");
  assert.equal(await sequencing(page, "build").textContent(), "in sequence");
  await page.getByTestId("redo").click(); // the toolbar's buttons do the same
  assert.deepEqual(await stageOrder(page), ["prepare", "ship", "build"]);
  assert.equal(await page.getByTestId("redo").isDisabled(), true);

  // A link removed, and put back.
  await clickLink(page, handle(page, "source", "out:VERSION"), handle(page, "builder", "in:data.version"));
  await page.keyboard.press("Delete");
  assert.equal(await linkEdge(page, "source", "builder").count(), 0);
  await page.keyboard.press("Control+z");
  await linkEdge(page, "source", "builder").waitFor();

  // The YAML editor keeps Ctrl+Z for its own text.
  await page.getByRole("tab", { name: "YAML" }).click();
  await page.getByTestId("yaml-editor").click();
  await page.keyboard.press("Control+z");
  await page.getByRole("tab", { name: "Canvas" }).click();
  assert.deepEqual(await stageOrder(page), ["prepare", "ship", "build"]);
  assertNoPageProblems(page);
});

test("Ctrl+Z undoes what was typed in a panel as one step, and a rename with the selection", { timeout: 60_000 }, async () => {
  await createWorkflow("undo-panel");
  const page = await openDesigner("undo-panel");
  await jobNode(page, "builder").click();
  const target = page.getByTestId("input-target");
  await target.click();
  await page.keyboard.type("arm64");
  assert.equal(await portValue(page, "builder", "target").textContent(), "arm64");
  await page.keyboard.press("Control+z"); // the whole word, with the focus still in the field
  assert.equal(await target.inputValue(), "");
  assert.equal(await portValue(page, "builder", "target").count(), 0);
  assert.equal(await target.evaluate((input) => input === document.activeElement), true);
  await page.keyboard.press("Control+Shift+Z");
  assert.equal(await target.inputValue(), "arm64");

  // Typing again after leaving the field is a step of its own.
  await page.getByTestId("job-name").click();
  await page.keyboard.press("End");
  await page.keyboard.type("-2");
  await jobNode(page, "builder-2").waitFor();
  await page.keyboard.press("Control+z");
  await jobNode(page, "builder").waitFor();
  assert.equal(await page.getByTestId("job-name").inputValue(), "builder", "the panel stays on the job, renamed back");
  assert.equal(await target.inputValue(), "arm64", "the earlier typing is still there");
  await page.keyboard.press("Control+z");
  assert.equal(await target.inputValue(), "");
  assert.equal(await page.getByTestId("save").isDisabled(), true, "back as saved");

  // The workflow's own fields too.
  await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });
  const description = page.getByRole("textbox", { name: "Description" }).first();
  await description.click();
  await page.keyboard.type("nightly build");
  await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } }); // the focus leaves
  await page.keyboard.press("Control+z");
  assert.equal(await description.inputValue(), "");
  assertNoPageProblems(page);
});

test("deleting a stage with its jobs, or a job, says so and can be undone from the notice", { timeout: 60_000 }, async () => {
  await createWorkflow("undelete");
  const page = await openDesigner("undelete");
  await stageNode(page, "build").getByTestId("stage-delete").click();
  const notice = page.getByTestId("notice");
  await notice.getByText("Deleted stage build and its job.").waitFor();
  assert.equal(await jobNode(page, "builder").count(), 0);
  await notice.getByTestId("notice-undo").click();
  await jobNode(page, "builder").waitFor();
  await linkEdge(page, "source", "builder").waitFor(); // with its links
  assert.deepEqual(await stageOrder(page), ["prepare", "build", "ship"]);
  assert.equal(await page.getByTestId("save").isDisabled(), true, "all back as saved");

  await jobNode(page, "announce").click();
  await page.getByTestId("job-delete").click();
  await notice.getByText("Deleted job announce.").waitFor();
  await sequencing(page, "prepare").click(); // another edit: the notice's Undo would undo that one
  assert.equal(await notice.getByTestId("notice-undo").count(), 0);
  await page.keyboard.press("Control+z");
  await page.keyboard.press("Control+z");
  await jobNode(page, "announce").waitFor();
  assertNoPageProblems(page);
});

/** Whether the job's box lies inside the stage's box on the screen. */
async function isInStage(page, jobName, stageName) {
  const [job, stage] = [await jobNode(page, jobName).boundingBox(), await stageNode(page, stageName).boundingBox()];
  return job.x >= stage.x && job.x + job.width <= stage.x + stage.width && job.y >= stage.y && job.y + job.height <= stage.y + stage.height;
}

async function dragJob(page, jobName, to) {
  const title = await jobNode(page, jobName).locator(".job-title").boundingBox();
  await page.mouse.move(title.x + 20, title.y + title.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 15 });
  await page.mouse.up();
}

test("a job dragged into another action moves there, Ctrl+Z moves it back, and a drop on nothing snaps back", { timeout: 60_000 }, async () => {
  await createWorkflow("moving");
  const page = await openDesigner("moving");
  const action = await page.locator('[data-testid="action-node"][data-action="builder"]').boundingBox();
  await dragJob(page, "announce", { x: action.x + action.width / 2, y: action.y + action.height - 6 });
  await page.getByTestId("saved-version").getByText("changed").waitFor();
  assert.equal(await isInStage(page, "announce", "build"), true, "moved into the build stage");

  await page.keyboard.press("Control+z");
  await page.getByTestId("saved-version").getByText("changed").waitFor({ state: "detached" });
  assert.equal(await isInStage(page, "announce", "ship"), true, "back in its stage");

  // Dropped above every stage, on nothing: back where it was, and nothing changed.
  const before = await jobNode(page, "announce").boundingBox();
  const ship = await stageNode(page, "ship").boundingBox();
  await dragJob(page, "announce", { x: ship.x + ship.width / 2, y: ship.y - 60 });
  const after = await jobNode(page, "announce").boundingBox();
  assert.deepEqual([Math.round(after.x), Math.round(after.y)], [Math.round(before.x), Math.round(before.y)]);
  assert.equal(await page.getByTestId("save").isDisabled(), true);
  assertNoPageProblems(page);
});
