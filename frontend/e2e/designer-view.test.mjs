// What the designer shows at first sight and how its room is shared (issue 11, items 2, 6
// and 14): job names readable on a laptop's screen, a new stage in view, a minimap that
// covers no node and can be hidden, a side panel that folds away; fields that say what they
// allow in words; and a new workflow that opens without a failed request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { call, publish, busyboxComponent } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "view";
const EXAMPLES = ["ci", "ci-cloud", "failing", "hello", "retry"];
const SIZES = [
  { width: 1024, height: 768 },
  { width: 1440, height: 900 },
];
const MIN_TEXT_PX = 11;
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: true });
  await publish(server, busyboxComponent(NS, "step", { script: "echo '[COUT] OUT = x'", inputs: [{ name: "in" }], outputs: ["OUT"] }));
  await call(server, "POST", `/namespaces/${NS}/workflows`, generated("thirty", 30));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** `jobs` jobs in stages of two actions of three; each job after the first stage reads an output of the stage before. */
function generated(name, jobs) {
  const stages = [];
  for (let first = 0; first < jobs; first += 6) {
    const actions = [];
    for (let a = 0; a < 2 && first + a * 3 < jobs; a++) {
      const list = [];
      for (let j = 0; j < 3 && first + a * 3 + j < jobs; j++) {
        const number = first + a * 3 + j;
        const data = first === 0 ? {} : { in: `\${{ jobs.job-${number - 6}.outputs.OUT }}` };
        list.push({ name: `job-${number}`, component: `${NS}/step@1.0.0`, data });
      }
      actions.push({ name: `a${a}`, jobs: list });
    }
    stages.push({ name: `s${stages.length}`, actions });
  }
  return { apiVersion: "containerops/v1", kind: "Workflow", metadata: { namespace: NS, name }, spec: { stages } };
}

async function openPage(size = SIZES[0]) {
  const page = await browser.newPage();
  await page.setViewportSize(size);
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  return page;
}

/** Until the canvas has fitted its view and stopped moving (the components' ports may arrive later). */
async function settled(page) {
  await page.locator('[data-testid="canvas"][data-fitted="true"]').waitFor();
  await page.locator('[data-testid="job-node"], [data-testid="stage-node"]').first().waitFor();
  await page.waitForFunction(
    () => {
      const style = document.querySelector(".react-flow__viewport")?.getAttribute("style") ?? "";
      const now = performance.now();
      if (window.__viewSeen !== style) {
        window.__viewSeen = style;
        window.__viewSince = now;
        return false;
      }
      return now - window.__viewSince > 600;
    },
    undefined,
    { polling: 100 },
  );
}

async function openDesigner(page, namespace, name) {
  await page.goto(`${server.url}/#/designer/${namespace}/${name}`);
  await page.getByTestId("designer").waitFor();
  await settled(page);
}

/** The job names on screen: their font size times the viewport's scale, and their drawn height. */
const jobNames = (page) =>
  page.evaluate(() => {
    const canvas = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
    const transform = getComputedStyle(document.querySelector(".react-flow__viewport")).transform;
    const scale = transform === "none" ? 1 : new DOMMatrixReadOnly(transform).a;
    return [...document.querySelectorAll('[data-testid="job-node"] .job-name')]
      .map((element) => ({ element, box: element.getBoundingClientRect() }))
      .filter(({ box }) => box.right > canvas.left && box.left < canvas.right && box.bottom > canvas.top && box.top < canvas.bottom)
      .map(({ element, box }) => ({
        name: element.textContent,
        px: parseFloat(getComputedStyle(element).fontSize) * scale,
        height: box.height,
      }));
  });

/** The nodes the minimap covers, by their text. */
const underTheMap = (page) =>
  page.evaluate(() => {
    const map = document.querySelector(".react-flow__minimap")?.getBoundingClientRect();
    if (!map) return ["(no minimap)"];
    return [...document.querySelectorAll(".react-flow__node")]
      .filter((node) => {
        const box = node.getBoundingClientRect();
        return box.left < map.right && map.left < box.right && box.top < map.bottom && map.top < box.bottom;
      })
      .map((node) => node.getAttribute("data-id"));
  });

const canvasBox = (page) => page.getByTestId("canvas").boundingBox();
const inside = (box, area) =>
  box.x >= area.x - 1 && box.y >= area.y - 1 && box.x + box.width <= area.x + area.width + 1 && box.y + box.height <= area.y + area.height + 1;

// --- 2. readable at first sight ---------------------------------------------------------

for (const size of SIZES) {
  test(`at ${size.width}×${size.height} every job name reads at ${MIN_TEXT_PX} px or more, and the minimap covers no node`, { timeout: 180_000 }, async () => {
    const page = await openPage(size);
    for (const [namespace, name] of [...EXAMPLES.map((example) => ["examples", example]), [NS, "thirty"]]) {
      await openDesigner(page, namespace, name);
      const names = await jobNames(page);
      assert.ok(names.length > 0, `${name}: a job is in view at first sight`);
      for (const shown of names) {
        assert.ok(shown.px >= MIN_TEXT_PX, `${name}: job ${shown.name} is drawn at ${shown.px.toFixed(1)} px`);
        assert.ok(shown.height >= MIN_TEXT_PX, `${name}: job ${shown.name}'s line is ${shown.height.toFixed(1)} px high`);
      }
      assert.deepEqual(await underTheMap(page), [], `${name}: the minimap covers no node`);
      if (name === "ci" || name === "thirty") await screenshot(page, `designer-first-sight-${name}-${size.width}`);
    }
    assertNoPageProblems(page);
    await page.close();
  });
}

test("a stage added in the toolbar is in view, its text still readable", { timeout: 120_000 }, async () => {
  const page = await openPage(SIZES[0]);
  for (const [namespace, name] of [["examples", "ci"], [NS, "thirty"]]) {
    await openDesigner(page, namespace, name);
    const before = (await call(server, "GET", `/namespaces/${namespace}/workflows/${name}`)).definition.spec.stages.length;
    for (let added = 1; added <= 3; added++) {
      await page.getByTestId("add-stage").click();
      const stage = page.locator(`[data-testid="stage-node"][data-stage="stage-${before + added}"]`);
      await stage.waitFor();
      await settled(page);
      const box = await stage.locator(".stage-header").boundingBox();
      assert.ok(box && inside(box, await canvasBox(page)), `${name}: stage-${before + added} is in view`);
      for (const shown of await jobNames(page)) assert.ok(shown.px >= MIN_TEXT_PX, `${name}: ${shown.name} at ${shown.px.toFixed(1)} px`);
    }
  }
  await screenshot(page, "designer-stage-added");
  assertNoPageProblems(page);
  await page.close();
});

test("dragging a job onto another stage (a new action there) leaves the view where it is", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[1]);
  await openDesigner(page, NS, "thirty");
  const viewport = () => page.locator(".react-flow__viewport").getAttribute("style");
  const before = await viewport();
  const from = await page.locator('[data-testid="job-node"][data-job="job-0"] .job-title').boundingBox();
  const stage = page.locator('[data-testid="stage-node"][data-stage="s1"]');
  const target = await stage.boundingBox();
  await page.mouse.move(from.x + 20, from.y + 5);
  await page.mouse.down();
  // Below its last action: onto the stage itself, which makes a new action for the job.
  await page.mouse.move(target.x + target.width / 2, target.y + target.height - 12, { steps: 12 });
  await page.mouse.up();
  await page.getByTestId("saved-version").getByText("changed").waitFor();
  const landed = await page.locator('[data-testid="job-node"][data-job="job-0"]').boundingBox();
  const grown = await stage.boundingBox();
  assert.ok(inside(landed, grown), "job-0 is in stage s1 now");
  assert.ok(grown.height > target.height, "in an action of its own");
  assert.equal(await viewport(), before, "no refit after a drag");
  assertNoPageProblems(page);
  await page.close();
});

test("the minimap can be hidden, and stays hidden after a reload", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[0]);
  await openDesigner(page, "examples", "ci");
  await page.locator(".react-flow__minimap").waitFor();
  const box = await page.locator(".react-flow__minimap").boundingBox();
  assert.ok(box.width <= 160 && box.height <= 110, `the minimap is small (${box.width}×${box.height})`);
  await page.getByTestId("minimap-toggle").click();
  assert.equal(await page.locator(".react-flow__minimap").count(), 0);
  await page.reload();
  await settled(page);
  assert.equal(await page.locator(".react-flow__minimap").count(), 0, "still hidden");
  assert.equal(await page.getByTestId("minimap-toggle").getAttribute("aria-pressed"), "false");
  await page.getByTestId("minimap-toggle").click();
  await page.locator(".react-flow__minimap").waitFor();
  assertNoPageProblems(page);
  await page.close();
});

test("collapsing the side panel widens the canvas, and the choice survives a reload", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[0]);
  await openDesigner(page, NS, "thirty");
  const narrow = await canvasBox(page);
  await page.getByTestId("panel-toggle").click();
  assert.equal(await page.getByTestId("workflow-panel").count(), 0, "the panel's content is folded away");
  await page.waitForFunction((width) => document.querySelector('[data-testid="canvas"]').getBoundingClientRect().width > width + 200, narrow.width);
  await settled(page);
  const wide = await canvasBox(page);
  assert.ok(wide.width > narrow.width + 200, `the canvas took the room: ${narrow.width} -> ${wide.width}`);
  assert.ok((await jobNames(page)).length > 0);
  await screenshot(page, "designer-panel-collapsed");

  await page.reload();
  await settled(page);
  assert.equal(await page.getByTestId("side-panel").getAttribute("data-collapsed"), "true");
  assert.equal((await canvasBox(page)).width, wide.width);
  await page.getByTestId("panel-toggle").click();
  await page.getByTestId("workflow-panel").waitFor();
  assert.ok((await canvasBox(page)).width < wide.width);
  assertNoPageProblems(page);
  await page.close();
});

// --- 6. rules in words ------------------------------------------------------------------

test("a bad name says what is allowed, in words, as it is typed", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[1]);
  await openDesigner(page, "examples", "hello");
  await page.getByTestId("job-node").first().click();
  const name = page.getByTestId("job-name");
  await name.fill("-not ok");
  const rule = page.getByTestId("job-panel").getByTestId("field-rule");
  await rule.getByText("use letters, digits, '_' and '-', starting with a letter or a digit, at most 63 characters").waitFor();
  assert.doesNotMatch(await rule.textContent(), /\^|\[A-Z|\\d|\{0,/, "no regular expression");
  assert.equal(await name.getAttribute("aria-invalid"), "true");
  await screenshot(page, "designer-rule-in-words");
  await name.fill("fine-name");
  assert.equal(await rule.textContent(), "Use letters, digits, '_' and '-', starting with a letter or a digit, at most 63 characters.");
  assert.equal(await name.getAttribute("aria-invalid"), null);

  // A placeholder reads as a hint: an example or a default, in italics.
  const timeout = page.getByTestId("job-panel").getByLabel("Timeout");
  assert.match(await timeout.getAttribute("placeholder"), /^(e\.g\. |default: )/);
  assert.equal(await timeout.evaluate((element) => getComputedStyle(element, "::placeholder").fontStyle), "italic");

  // On the canvas, a stage's name.
  await page.getByTestId("stage-node").first().locator(".stage-name").dblclick();
  await page.keyboard.type(" Two");
  await page.getByTestId("inline-rule").getByText("use lower-case letters, digits and '-' (not first or last), at most 63 characters").waitFor();
  await page.keyboard.press("Escape");
  assertNoPageProblems(page);
  await page.close();
});

test("the new-workflow form says what a name may be, in words", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[0]);
  await page.goto(`${server.url}/#/workflows/${NS}`);
  const form = page.locator("form.new-workflow");
  await form.getByLabel("Name", { exact: true }).fill("My Pipeline");
  await page.getByTestId("new-workflow-rule").getByText("The name: use lower-case letters, digits and '-' (not first or last), at most 63 characters.").waitFor();
  assert.equal(await form.getByRole("button", { name: "Draw it" }).isDisabled(), true);
  assertNoPageProblems(page);
  await page.close();
});

// --- 14. no failed request for a new workflow -------------------------------------------

test("opening a new workflow makes no failed request and logs no console error", { timeout: 60_000 }, async () => {
  const page = await openPage(SIZES[1]);
  const failed = [];
  page.on("requestfailed", (request) => failed.push(`${request.url()} failed: ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.url()} answered ${response.status()}`);
  });
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${server.url}/#/workflows/${NS}`);
  const form = page.locator("form.new-workflow");
  await form.getByLabel("Name", { exact: true }).fill("brand-new");
  await form.getByRole("button", { name: "Draw it" }).click();
  await page.getByTestId("designer").waitFor();
  await page.getByText("not saved yet").waitFor();
  await settled(page);
  await page.getByRole("button", { name: "Add step" }).click();
  await page.locator('[data-testid="job-node"][data-job="step"]').waitFor();
  await page.locator('[data-testid="stage-node"][data-stage="build"] [data-testid="stage-delete"]').click();
  await page.getByTestId("save").click();
  await page.getByTestId("notice").getByText("Saved version 1").waitFor();
  await page.reload(); // saved: now the designer asks the server for it
  await page.getByTestId("saved-version").getByText("v1").waitFor();
  await page.locator('[data-testid="job-node"][data-job="step"]').waitFor();
  assert.deepEqual(failed, []);
  assert.deepEqual(errors, []);
  assertNoPageProblems(page);
  await page.close();
});
