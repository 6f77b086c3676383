// A new user, in a real browser against a real server and real containers: draws a
// workflow with the mouse, checks, saves and runs it, watches it, reads its logs; meets a
// failing job, a concurrent edit and hostile text.
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { busyboxComponent, call, publish } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";
import { openYamlTab, setYamlText, yamlText } from "./yaml.mjs";

const NS = "e2e";
const HOSTILE = "<img src=x onerror=alert(1)>";
let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await publish(server, busyboxComponent(NS, "version-source", {
    description: "Decide the version to build",
    script: 'echo "deciding the version"; printf "\\033[32mall green\\033[0m\\n"; echo "[COUT] VERSION = 1.2.$CO_PATCH"',
    inputs: [{ name: "patch", default: "3" }],
    outputs: ["VERSION"],
  }));
  await publish(server, busyboxComponent(NS, "builder", {
    description: "Build an artifact of a version",
    script: 'echo "building $CO_VERSION"; echo "[COUT] ARTIFACT = app-$CO_VERSION.tar.gz"',
    inputs: [{ name: "version", required: true }],
    outputs: ["ARTIFACT"],
  }));
  await publish(server, busyboxComponent(NS, "announce", {
    description: "Say what was released",
    script: `echo "${HOSTILE} is not markup"; echo "[COUT] MESSAGE = released $CO_ARTIFACT ${HOSTILE}"`,
    inputs: [{ name: "artifact", required: true }],
    outputs: ["MESSAGE"],
  }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The three-stage workflow the first test draws, made through the API for the others. */
async function createThreeStages(name) {
  const job = (jobName, data = {}) => ({ name: jobName, component: `${NS}/${jobName}@1.0.0`, data });
  const stage = (stageName, item) => ({ name: stageName, actions: [{ name: item.name, jobs: [item] }] });
  return call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name },
    spec: {
      stages: [
        stage("build", job("version-source")),
        stage("stage-2", job("builder", { version: "${{ jobs.version-source.outputs.VERSION }}" })),
        stage("stage-3", job("announce", { artifact: "${{ jobs.builder.outputs.ARTIFACT }}" })),
      ],
    },
  });
}

async function openPage(route) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1600, height: 900 });
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  await page.goto(`${server.url}/#${route}`);
  return page;
}

const jobNode = (page, name) => page.locator(`[data-testid="job-node"][data-job="${name}"]`);
const handle = (page, job, id) => page.locator(`.react-flow__handle[data-nodeid="job:${job}"][data-handleid="${id}"]`);

async function dragComponent(page, name, target) {
  await page.locator(`[data-testid="palette-item"][data-ref="${NS}/${name}@1.0.0"]`).dragTo(target.locator, {
    targetPosition: target.position,
  });
}

async function connectHandles(page, from, to) {
  await from.hover();
  await page.mouse.down();
  const box = await to.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 12 });
  await page.mouse.up();
}

async function dropRightOfStages(page) {
  const canvas = page.getByTestId("canvas");
  const box = await canvas.boundingBox();
  return { locator: canvas, position: { x: box.width - 60, y: box.height / 2 } }; // past the last stage, above the minimap
}

test("a new user draws, checks, saves and runs a three-stage workflow, then reads its logs", { timeout: 240_000 }, async () => {
  const page = await openPage(`/designer/${NS}/drawn`);
  await page.getByTestId("designer").waitFor();
  await page.getByText("not saved yet").waitFor();

  await dragComponent(page, "version-source", { locator: page.locator('[data-testid="stage-node"][data-stage="build"]'), position: { x: 60, y: 60 } });
  await jobNode(page, "version-source").waitFor();
  await page.getByRole("button", { name: "Fit View" }).click();
  await dragComponent(page, "builder", await dropRightOfStages(page));
  await jobNode(page, "builder").waitFor();
  await page.getByRole("button", { name: "Fit View" }).click();
  await dragComponent(page, "announce", await dropRightOfStages(page));
  await jobNode(page, "announce").waitFor();
  await page.getByRole("button", { name: "Fit View" }).click();
  assert.equal(await page.getByTestId("stage-node").count(), 3);

  await connectHandles(page, handle(page, "version-source", "out:VERSION"), handle(page, "builder", "in:data.version"));
  await page.getByTestId("notice").getByText("version-source.VERSION now feeds builder").waitFor();
  await connectHandles(page, handle(page, "builder", "out:ARTIFACT"), handle(page, "announce", "in:data.artifact"));
  await page.getByTestId("notice").getByText("builder.ARTIFACT now feeds announce").waitFor();

  // A link backwards in time is refused, with the reason.
  await connectHandles(page, handle(page, "announce", "out:MESSAGE"), handle(page, "version-source", "in:data.patch"));
  await page.getByTestId("notice").getByText("it runs in a later stage").waitFor();

  // A link's curve passes through the midpoint of its two handles: click it there.
  const ends = [await handle(page, "version-source", "out:VERSION").boundingBox(), await handle(page, "builder", "in:data.version").boundingBox()];
  await page.mouse.click((ends[0].x + ends[1].x + ends[1].width) / 2, (ends[0].y + ends[1].y + ends[1].height) / 2);
  await page.getByTestId("link-panel").getByText("version-source.outputs.VERSION").waitFor();

  await page.getByTestId("check").click();
  await page.getByTestId("notice").getByText("No problems").waitFor();
  await screenshot(page, "designer-drawn");
  await page.getByTestId("save").click();
  await page.getByTestId("notice").getByText("Saved version 1").waitFor();

  await page.getByTestId("run").click();
  await page.getByTestId("run-dialog").waitFor();
  await page.getByTestId("run-start").click();
  await page.getByTestId("run-view").waitFor();
  await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "succeeded" }).waitFor({ timeout: 120_000 });
  for (const name of ["version-source", "builder", "announce"]) {
    assert.equal(await jobNode(page, name).getAttribute("data-status"), "succeeded");
  }
  await screenshot(page, "run-succeeded");

  await jobNode(page, "announce").click();
  await page.getByTestId("job-details").waitFor();
  const cout = page.locator(".log-cout", { hasText: "[COUT] MESSAGE = released app-1.2.3.tar.gz" });
  await cout.waitFor();
  await page.getByTestId("job-outputs").getByText(`released app-1.2.3.tar.gz ${HOSTILE}`).waitFor();
  await page.getByTestId("log-view").getByText(`${HOSTILE} is not markup`).waitFor();
  assert.equal(await page.locator('img[src="x"]').count(), 0, "log lines and outputs are text, not HTML");
  await screenshot(page, "run-logs");
  // The designer asked for the workflow before it existed: an answer it expects.
  assertNoPageProblems(page, { allow: [/status of 404 \(Not Found\) \(.*\/workflows\/drawn:/] });
});

test("a failing job shows red with its reason, and re-run from failure finishes the run", { timeout: 240_000 }, async () => {
  const flags = await mkdtemp(path.join(os.tmpdir(), "containerops-e2e-flag-"));
  await chmod(flags, 0o755);
  try {
    await call(server, "POST", `/namespaces/${NS}/workflows`, {
      apiVersion: "containerops/v1",
      kind: "Workflow",
      metadata: { namespace: NS, name: "gated" },
      spec: {
        stages: [
          { name: "prepare", actions: [{ name: "a", jobs: [{ name: "prepare", image: "containerops/busybox:1", command: ["sh", "-c", "echo ready; echo '[COUT] READY = yes'"], outputs: ["READY"] }] }] },
          { name: "gate", actions: [{ name: "a", jobs: [{
            name: "gate",
            image: "containerops/busybox:1",
            command: ["sh", "-c", "test -e /flags/open || { echo 'the gate is closed'; exit 3; }; echo open"],
            mounts: [{ source: flags, target: "/flags" }],
          }] }] },
        ],
      },
    });
    const page = await openPage(`/designer/${NS}/gated`);
    await page.getByTestId("run").click();
    await page.getByTestId("run-start").click();
    await page.getByTestId("run-view").waitFor();
    await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "failed" }).waitFor({ timeout: 120_000 });
    assert.equal(await jobNode(page, "gate").getAttribute("data-status"), "failed");
    assert.equal(await jobNode(page, "prepare").getAttribute("data-status"), "succeeded");
    await jobNode(page, "gate").click();
    assert.equal(await page.getByTestId("job-exit-code").textContent(), "3");
    assert.match(await page.getByTestId("job-reason").textContent(), /exit/i);
    await page.getByTestId("log-view").getByText("the gate is closed").waitFor();
    await screenshot(page, "run-failed");

    await writeFile(path.join(flags, "open"), "");
    const failedUrl = page.url();
    await page.getByTestId("rerun").click();
    await page.waitForURL((url) => url.toString() !== failedUrl);
    await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "succeeded" }).waitFor({ timeout: 120_000 });
    assert.equal(await jobNode(page, "prepare").getAttribute("data-status"), "reused");
    assert.equal(await jobNode(page, "gate").getAttribute("data-status"), "succeeded");
    assertNoPageProblems(page);
  } finally {
    await rm(flags, { recursive: true, force: true });
  }
});

test("a running job can be cancelled from the run view", { timeout: 120_000 }, async () => {
  await call(server, "POST", `/namespaces/${NS}/workflows`, {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name: "sleepy" },
    spec: { stages: [{ name: "wait", actions: [{ name: "a", jobs: [{ name: "nap", image: "containerops/busybox:1", command: ["sh", "-c", "echo dozing; sleep 120"] }] }] }] },
  });
  const page = await openPage(`/designer/${NS}/sleepy`);
  await page.getByTestId("run").click();
  await page.getByTestId("run-start").click();
  await page.locator('[data-testid="job-node"][data-job="nap"][data-status="running"]').waitFor({ timeout: 60_000 });

  await page.getByTestId("cancel").click();
  await page.locator('[data-testid="run-status"] [data-testid="status"]', { hasText: "cancelled" }).waitFor({ timeout: 60_000 });
  assert.equal(await jobNode(page, "nap").getAttribute("data-status"), "cancelled");
  assert.equal(await page.getByTestId("cancel").count(), 0, "nothing left to cancel");
  await page.getByTestId("rerun").waitFor();
  assertNoPageProblems(page);
});

test("a save that crosses someone else's shows the conflict and keeps the drawing", { timeout: 120_000 }, async () => {
  const { definition } = await createThreeStages("crossed");
  const page = await openPage(`/designer/${NS}/crossed`);
  await jobNode(page, "builder").waitFor();
  await call(server, "PUT", `/namespaces/${NS}/workflows/crossed`, {
    expected_version: 1,
    definition: { ...definition, metadata: { ...definition.metadata, description: "changed elsewhere" } },
  });

  await page.locator('[data-testid="stage-node"]').first().getByTestId("stage-sequencing").click();
  await page.getByTestId("save").click();
  await page.getByTestId("conflict").getByText("Someone saved version 2").waitFor();
  assert.equal(await jobNode(page, "builder").count(), 1, "the drawing is still there");
  await page.getByTestId("conflict").getByRole("button", { name: "Save mine as the next version" }).click();
  await page.getByTestId("notice").getByText("Saved version 3").waitFor();
  const saved = await call(server, "GET", `/namespaces/${NS}/workflows/crossed`);
  assert.equal(saved.definition.spec.stages[0].sequencing, "sequence");
  assertNoPageProblems(page, { allow: [/status of 409 \(Conflict\)/] });
});

test("a job named like markup is shown as text, never run as HTML", { timeout: 120_000 }, async () => {
  await createThreeStages("hostile");
  const page = await openPage(`/designer/${NS}/hostile`);
  await jobNode(page, "builder").click();
  const name = page.getByTestId("job-name");
  await name.fill(HOSTILE);
  await name.press("Enter");
  // By its name: the job that takes its output shows the reference, as text, on its input.
  const renamed = page.locator('[data-testid="job-node"]').filter({ has: page.locator(".job-name", { hasText: HOSTILE }) });
  await renamed.waitFor();
  assert.equal(await renamed.locator(".job-name").textContent(), HOSTILE);
  assert.equal(await page.locator('img[src="x"]').count(), 0);

  await page.getByTestId("check").click();
  await page.getByTestId("notice").getByText("problem(s)").waitFor();
  await renamed.getByTestId("problem-badge").waitFor(); // the problem sits on its job...
  await page.getByTestId("job-panel").getByTestId("field-error").first().waitFor(); // ...and its field
  await screenshot(page, "designer-hostile-name");
  assertNoPageProblems(page);
});

test("edits in the YAML tab come back to the canvas", { timeout: 60_000 }, async () => {
  await createThreeStages("edited");
  const page = await openPage(`/designer/${NS}/edited`);
  await jobNode(page, "builder").waitFor();
  await openYamlTab(page);
  const text = await yamlText(page);
  assert.match(text, /name: stage-2/);

  await setYamlText(page, `${text}\n  oops: [`);
  await page.getByTestId("yaml-status").getByText(/line \d+/).waitFor(); // a YAML error, with its line
  await setYamlText(page, text.replace("name: stage-2", "name: compile"));
  await page.getByRole("tab", { name: "Canvas" }).click();
  await page.locator('[data-testid="stage-node"][data-stage="compile"]').waitFor();
  await jobNode(page, "builder").waitFor();
  assertNoPageProblems(page);
});
