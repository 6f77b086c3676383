// The designer's YAML tab as a code editor, in a real browser against a real server: line
// numbers and highlighting in both colour schemes, its own undo and search, what is typed
// saved by the next click, a Check's problems marked on their lines, and a text that does
// not read kept on the tab, with the reason, instead of being dropped.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { busyboxComponent, call, publish } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";
import { openYamlTab, setYamlText, yamlText } from "./yaml.mjs";

const NS = "yamled";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await publish(server, busyboxComponent(NS, "step", { script: "echo step", inputs: [{ name: "word" }], outputs: ["OUT"] }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function createWorkflow(name) {
  const job = (jobName, data = {}) => ({ name: jobName, component: `${NS}/step@1.0.0`, data });
  return call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name, description: "a workflow typed as text" },
    spec: {
      stages: [
        { name: "build", actions: [{ name: "compile", jobs: [job("compile", { word: "hello" })] }] },
        { name: "ship", actions: [{ name: "publish", jobs: [job("publish", { word: "${{ jobs.compile.outputs.OUT }}" })] }] },
      ],
    },
  });
}

async function openDesigner(name) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`${server.url}/#/designer/${NS}/${name}`);
  await page.locator('[data-testid="job-node"][data-job="compile"]').waitFor();
  return page;
}

const lineNumberOf = (text, content) => text.split("\n").findIndex((line) => line.includes(content)) + 1;
const colourOf = (locator) => locator.evaluate((element) => getComputedStyle(element).color);

test("the YAML tab shows line numbers and highlighted YAML, in the light and the dark scheme", { timeout: 60_000 }, async () => {
  await createWorkflow("looks");
  const page = await openDesigner("looks");
  const editor = await openYamlTab(page);
  const text = await yamlText(page);
  const lines = text.trimEnd().split("\n").length;
  assert.ok(lines > 15, `the whole definition is there:\n${text}`);

  const host = page.getByTestId("yaml-editor-host");
  const gutter = host.locator(".cm-lineNumbers");
  for (const number of ["1", "2", String(lines)]) await gutter.getByText(number, { exact: true }).waitFor();

  // Keys and values are told apart by colour.
  const key = editor.locator(".yaml-key", { hasText: "apiVersion" });
  await key.waitFor();
  const keyColour = await colourOf(key);
  const textColour = await colourOf(editor);
  assert.notEqual(keyColour, textColour, "a key is coloured");

  const background = () => page.getByTestId("yaml-editor-host").locator(".cm-editor").evaluate((element) => getComputedStyle(element).backgroundColor);
  const light = await background();
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForFunction((before) => {
    const element = document.querySelector('[data-testid="yaml-editor-host"] .cm-editor');
    return element && getComputedStyle(element).backgroundColor !== before;
  }, light);
  const dark = await background();
  assert.notEqual(dark, light, "the editor follows prefers-color-scheme");
  assert.notEqual(await colourOf(key), keyColour, "and so do the tokens");
  await screenshot(page, "designer-yaml-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await screenshot(page, "designer-yaml");
  assertNoPageProblems(page);
});

test("what is typed in the YAML tab is saved by the next click, and Ctrl+Z and Ctrl+F work in the editor", { timeout: 60_000 }, async () => {
  await createWorkflow("typed");
  const page = await openDesigner("typed");
  const editor = await openYamlTab(page);
  assert.equal(await page.getByTestId("save").isDisabled(), true, "nothing to save yet");

  await editor.getByText("a workflow typed as text").click();
  await page.keyboard.press("End");
  await page.keyboard.type(", by hand");
  await page.getByTestId("save").click(); // at once: the typing counts without leaving the editor
  await page.getByTestId("notice").getByText("Saved version 2").waitFor();
  const saved = await call(server, "GET", `/namespaces/${NS}/workflows/typed`);
  assert.equal(saved.definition.metadata.description, "a workflow typed as text, by hand");

  // The editor's own undo takes back its own typing; the drawing follows.
  await editor.getByText("typed as text, by hand").click();
  await page.keyboard.press("End");
  await page.keyboard.type("!");
  assert.match(await yamlText(page), /by hand!/);
  await page.keyboard.press("Control+z");
  assert.doesNotMatch(await yamlText(page), /by hand!/);
  assert.equal(await page.getByTestId("save").isDisabled(), true, "back to what is saved");

  // Search in the text.
  await page.keyboard.press("Control+f");
  const find = page.getByPlaceholder("Find");
  await find.waitFor();
  await find.fill("publish");
  await page.keyboard.press("Enter");
  assert.ok((await page.getByTestId("yaml-editor-host").locator(".cm-searchMatch").count()) >= 2, "the matches are shown");
  await page.keyboard.press("Escape");
  await find.waitFor({ state: "detached" });

  // An edit in the side panel shows in the text.
  const description = page.getByTestId("workflow-panel").getByLabel("Description");
  await description.fill("described in the panel");
  await editor.getByText("described in the panel").waitFor();

  // What is typed in the editor, from focus to blur, is one step of the designer's Undo.
  await editor.getByText("described in the panel").click();
  await page.keyboard.press("End");
  await page.keyboard.type(" and typed");
  await page.getByTestId("undo").click();
  await page.getByTestId("yaml-editor").getByText("described in the panel").waitFor();
  assert.doesNotMatch(await yamlText(page), /and typed|and type|described in the panel /);
  assertNoPageProblems(page);
});

test("Check marks each problem on its line, with the message, and the list goes to the line", { timeout: 60_000 }, async () => {
  await createWorkflow("checked");
  const page = await openDesigner("checked");
  const editor = await openYamlTab(page);
  const text = await yamlText(page);
  await setYamlText(page, text.replace(/(- name: publish\n\s+component: )yamled\/step@1\.0\.0/, "$1yamled/nowhere@1.0.0"));
  const broken = await yamlText(page);
  assert.match(broken, /component: yamled\/nowhere@1\.0\.0/);
  const line = lineNumberOf(broken, "yamled/nowhere@1.0.0");

  await page.getByTestId("check").click();
  await page.getByTestId("notice").getByText("see the marked lines").waitFor();
  const problem = page.getByTestId("yaml-problem").filter({ hasText: "nowhere" }).first();
  await problem.waitFor();
  assert.equal(await problem.getAttribute("data-line"), String(line));
  assert.match(await problem.textContent(), new RegExp(`line ${line}`));
  const message = (await problem.locator(".yaml-problem-message").textContent()).trim();

  // The line is underlined, marked in the gutter, and the mark says why on hover.
  const mark = editor.locator(".yaml-mark", { hasText: "nowhere" });
  await mark.waitFor();
  assert.match(await mark.textContent(), /component: yamled\/nowhere@1\.0\.0/);
  assert.ok((await page.getByTestId("yaml-editor-host").locator(".cm-lint-marker-error").count()) >= 1);
  await mark.hover();
  await page.getByTestId("yaml-editor-host").getByText(message, { exact: false }).first().waitFor();

  // The list's link puts the cursor on that line.
  await editor.evaluate((element) => element.blur());
  await problem.getByRole("button").click();
  assert.equal(await editor.evaluate((element) => element.contains(document.activeElement) || element === document.activeElement), true);
  await page.keyboard.type("#");
  assert.equal((await yamlText(page)).split("\n")[line - 1].trimStart().startsWith("#"), true, "typed at the start of the problem's line");
  await page.keyboard.press("Control+z");

  // Back from the canvas, the marks are still on their lines.
  await page.getByRole("tab", { name: "Canvas" }).click();
  await page.locator('[data-testid="job-node"][data-job="publish"]').getByTestId("problem-badge").waitFor();
  await openYamlTab(page);
  await page.getByTestId("yaml-problem").filter({ hasText: "nowhere" }).first().waitFor();
  assert.equal(await page.getByTestId("yaml-problem").filter({ hasText: "nowhere" }).first().getAttribute("data-line"), String(line));
  await screenshot(page, "designer-yaml-check");
  assertNoPageProblems(page, { allow: [/status of 400/] });
});

test("YAML that does not read keeps the user on the tab with the reason and the line, and loses nothing", { timeout: 60_000 }, async () => {
  await createWorkflow("broken");
  const page = await openDesigner("broken");
  await openYamlTab(page);
  const text = await yamlText(page);

  // A syntax error: the text stays, the canvas does not take it, the status and the notice say why.
  const broken = text.replace("name: ship", "name: [ship");
  await setYamlText(page, broken);
  const line = lineNumberOf(broken, "name: [ship");
  const status = page.getByTestId("yaml-status");
  await status.getByText(/^line \d+: /).waitFor();
  await page.getByRole("tab", { name: "Canvas" }).click();
  const notice = page.getByTestId("notice");
  await notice.getByText("Still on the YAML tab").waitFor();
  assert.match(await notice.textContent(), /line \d+: .*Your text is kept/);
  assert.equal(await page.getByRole("tab", { name: "YAML" }).getAttribute("aria-selected"), "true");
  assert.equal(await yamlText(page), broken, "nothing typed is lost");
  const marked = Number(await page.getByTestId("yaml-problem").first().getAttribute("data-line"));
  assert.ok(marked >= line && marked <= line + 2, `the error is marked near line ${line} (at ${marked})`);
  await page.getByTestId("save").click();
  await notice.getByText("Not saved: the YAML cannot be read as a workflow").waitFor();
  // The side panel waits for the text: fixing the text must not overwrite an edit made there.
  assert.equal(await page.getByTestId("workflow-panel").getByLabel("Description").isDisabled(), true);
  // Leaving through the app's links asks first: the text is not in the drawing yet.
  await page.getByTestId("designer").getByRole("link", { name: "Runs" }).click();
  await page.getByTestId("leave-dialog").waitFor();
  await page.getByTestId("leave-stay").click();

  // Reads, but is not a workflow: said in words, at the line of the stages.
  const notStages = text.replace("  stages:", "  stagez:");
  await setYamlText(page, notStages);
  await status.getByText("spec.stages is missing: it must be a list of stages").waitFor();
  await page.getByRole("tab", { name: "Canvas" }).click();
  await notice.getByText("spec.stages is missing").waitFor();
  assert.match(await notice.textContent(), new RegExp(`line ${lineNumberOf(notStages, "spec:")}: spec\\.stages is missing`));
  await screenshot(page, "designer-yaml-broken");

  // The toolbar's Undo would put the drawing's YAML in place of the text: it says so instead.
  await setYamlText(page, text.replace("name: ship", "name: deliver"));
  await status.getByText("In step with the drawing.").waitFor();
  const again = text.replace("name: ship", "name: [deliver");
  await setYamlText(page, again);
  await status.getByText(/^line \d+: /).waitFor();
  await page.getByTestId("undo").click();
  await notice.getByText("Not undone").waitFor();
  assert.equal(await yamlText(page), again);

  // Fixed, it goes to the canvas.
  await setYamlText(page, text.replace("name: ship", "name: deliver"));
  await status.getByText("In step with the drawing.").waitFor();
  await page.getByRole("tab", { name: "Canvas" }).click();
  await page.locator('[data-testid="stage-node"][data-stage="deliver"]').waitFor();
  assertNoPageProblems(page);
});
