// The dark theme (issue 11, item 14) in a real browser against a real server: with the
// system asking for dark, the page, the panels, the graph and the log panel are dark with
// light text that reads at WCAG AA (4.5:1), and no white or light grey box is left, nor any
// text under 4.5:1, on the designer (its panels, dialog and YAML tab), the run (its graph,
// log and timeline), the runs, the workflows and the registry views (and the publish
// form); asking for light, they look as they always did.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { busyboxComponent, call, publish } from "./api.mjs";
import { assertNoPageProblems, launchBrowser, screenshot, startServer } from "./harness.mjs";

const NS = "e2e-theme";
const WORKFLOW = "themed";
const JOB = "greet";
let server;
let browser;
let runId;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ loadExamples: false });
  await publish(server, busyboxComponent(NS, "greeter", {
    description: "Says hello",
    script: 'echo "hello from the dark"; echo "a warning" >&2; echo "[COUT] WHO = world"',
    outputs: ["WHO"],
  }));
  const definition = (description) => ({
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace: NS, name: WORKFLOW, description },
    spec: { stages: [{ name: "only", actions: [{ name: "a", jobs: [{ name: JOB, component: `${NS}/greeter@1.0.0` }] }] }] },
  });
  await call(server, "POST", `/namespaces/${NS}/workflows`, definition("One job, to look at"));
  // A second version, so the versions view has a difference to show.
  await call(server, "PUT", `/namespaces/${NS}/workflows/${WORKFLOW}`, { expected_version: 1, definition: definition("One job, to look at twice") });
  const started = await call(server, "POST", `/namespaces/${NS}/workflows/${WORKFLOW}/runs`, { params: {} });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = await call(server, "GET", `/namespaces/${NS}/runs/${started.id}`);
    if (run.status === "succeeded") break;
    if (["failed", "cancelled"].includes(run.status) || Date.now() > deadline) {
      throw new Error(`the run to look at did not succeed: ${run.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  runId = started.id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(scheme, route) {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.emulateMedia({ colorScheme: scheme });
  await page.goto(`${server.url}/#${route}`);
  return page;
}

// --- colours, as the test sees them -------------------------------------------------------

function parse(text) {
  // color-mix() computes to color(srgb r g b / a), channels from 0 to 1.
  const srgb = /^color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)$/.exec(text);
  if (srgb) {
    const [r, g, b] = srgb.slice(1, 4).map((channel) => Number(channel) * 255);
    return { r, g, b, a: srgb[4] === undefined ? 1 : Number(srgb[4]) };
  }
  const match = /rgba?\(([\d.]+),?\s*([\d.]+),?\s*([\d.]+)(?:\s*[,/]\s*([\d.]+))?\)/.exec(text);
  if (!match) throw new Error(`not an rgb() colour: ${text}`);
  return { r: Number(match[1]), g: Number(match[2]), b: Number(match[3]), a: match[4] === undefined ? 1 : Number(match[4]) };
}

function luminance({ r, g, b }) {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/**
 * The element's text colour and the background it is seen on: its own background or, where
 * that is transparent, its ancestors', translucent layers painted over the first opaque one.
 * Computed in the page; the arithmetic is the test's.
 */
async function colours(locator) {
  const { color, layers } = await locator.evaluate((element) => {
    const found = [];
    for (let node = element; node; node = node.parentElement) {
      const background = getComputedStyle(node).backgroundColor;
      found.push(background);
      if (!/rgba|\//.test(background) && background !== "transparent") break; // opaque
    }
    found.push(getComputedStyle(document.documentElement).backgroundColor);
    return { color: getComputedStyle(element).color, layers: found };
  });
  return { text: parse(color), background: seenBackground(layers) };
}

function seenBackground(layers) {
  const parsed = layers.map(parse);
  const base = parsed.findIndex((layer) => layer.a === 1);
  let seen = base < 0 ? { r: 255, g: 255, b: 255, a: 1 } : parsed[base];
  for (const layer of parsed.slice(0, base < 0 ? parsed.length : base).reverse()) {
    seen = {
      r: layer.r * layer.a + seen.r * (1 - layer.a),
      g: layer.g * layer.a + seen.g * (1 - layer.a),
      b: layer.b * layer.a + seen.b * (1 - layer.a),
      a: 1,
    };
  }
  return seen;
}

const DARK = 0.06; // a relative luminance below it is a dark background (#3a4756 is ~0.06)
const LIGHT = 0.6; // above it, light text (#c0cad5 is ~0.58, #e3e8ee ~0.79)

async function assertDarkWithLightText(name, locator) {
  const { text, background } = await colours(locator);
  const ratio = contrast(text, background);
  assert.ok(luminance(background) < DARK, `${name}: background ${JSON.stringify(background)} is not dark`);
  assert.ok(luminance(text) > LIGHT, `${name}: text ${JSON.stringify(text)} is not light`);
  assert.ok(ratio >= 4.5, `${name}: contrast ${ratio.toFixed(2)} is under 4.5`);
}

/**
 * Every visible element that paints a white or light grey background, or whose own text reads under 4.5:1
 * on what is behind it, as `description: why`. Elements drawn dimmed on purpose (opacity
 * under 1, as a disabled button) are left out of the text check.
 */
async function problemsOnScreen(page, { lightAllowed = [] } = {}) {
  const seen = await page.evaluate((allowed) => {
    const describe = (element) =>
      element.tagName.toLowerCase() +
      (element.dataset.testid ? `[data-testid=${element.dataset.testid}]` : "") +
      (element.classList.length ? `.${[...element.classList].join(".")}` : "");
    const dimmed = (element) => {
      for (let node = element; node; node = node.parentElement) {
        if (Number(getComputedStyle(node).opacity) < 1) return true;
      }
      return false;
    };
    const backgroundsOf = (element) => {
      const found = [];
      for (let node = element; node; node = node.parentElement) {
        const background = getComputedStyle(node).backgroundColor;
        found.push(background);
        if (!/rgba|\//.test(background) && background !== "transparent") break; // opaque
      }
      found.push(getComputedStyle(document.documentElement).backgroundColor);
      return found;
    };
    const out = [];
    for (const element of document.body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.width < 2 || box.height < 2 || !element.checkVisibility({ visibilityProperty: true })) continue;
      if (box.bottom < 0 || box.top > innerHeight || box.right < 0 || box.left > innerWidth) continue;
      const style = getComputedStyle(element);
      const ownText = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
      const field = ["INPUT", "SELECT", "TEXTAREA"].includes(element.tagName) && element.type !== "checkbox";
      out.push({
        what: describe(element),
        allowed: allowed.some((selector) => element.closest(selector)),
        background: style.backgroundColor,
        // Boxes drawn in SVG (minimap nodes); a path or an icon takes the text colour.
        fill: element instanceof SVGRectElement ? style.fill : "none",
        text: (ownText || field) && !dimmed(element) ? { color: style.color, layers: backgroundsOf(element) } : undefined,
      });
    }
    return out;
  }, lightAllowed);
  const problems = [];
  for (const element of seen) {
    for (const [property, value] of [["background", element.background], ["fill", element.fill]]) {
      if (!/^(rgb|color\()/.test(value) || element.allowed) continue;
      const colour = parse(value);
      // White and light grey, the boxes a forgotten literal leaves; a bright status colour
      // (a timeline bar, a solid badge) is a colour, not a box.
      const grey = Math.max(colour.r, colour.g, colour.b) - Math.min(colour.r, colour.g, colour.b) < 48;
      if (colour.a > 0.3 && grey && luminance(colour) > 0.4) problems.push(`${element.what}: a light ${property} ${value}`);
    }
    if (element.text) {
      const ratio = contrast(parse(element.text.color), seenBackground(element.text.layers));
      if (ratio < 4.5) problems.push(`${element.what}: text ${element.text.color} at ${ratio.toFixed(2)}:1`);
    }
  }
  return [...new Set(problems)];
}

// The start and end markers of the graph are pills of the text colour: light in dark, on purpose.
const MARKERS = [".terminal-node"];

// --- dark -------------------------------------------------------------------------------------

test("asking for dark, the page, a panel, a job node and the log panel are dark with light text", { timeout: 120_000 }, async () => {
  const page = await openPage("dark", `/designer/${NS}/${WORKFLOW}`);
  const node = page.locator(`[data-testid="job-node"][data-job="${JOB}"]`);
  await node.waitFor();
  await assertDarkWithLightText("the page", page.locator("main"));
  await assertDarkWithLightText("the palette", page.locator(".palette"));
  await assertDarkWithLightText("a job node", node.locator(".job-name"));
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme), "light dark");
  await screenshot(page, "theme-dark-designer");

  await page.goto(`${server.url}/#/run/${NS}/${runId}/${JOB}`);
  const line = page.getByTestId("log-line").filter({ hasText: "hello from the dark" });
  await line.waitFor();
  await assertDarkWithLightText("the log panel", page.getByTestId("log-view"));
  await assertDarkWithLightText("a log line", line.locator(".log-text"));
  await assertDarkWithLightText("the run's side panel", page.getByTestId("run-panel"));
  await screenshot(page, "theme-dark-run");
  assertNoPageProblems(page);
  await page.close();
});

const jobNode = (page) => page.locator(`[data-testid="job-node"][data-job="${JOB}"]`);

// Each view as a user meets it: its address, what shows it is drawn, and what to open on it.
const VIEWS = [
  { view: "designer", route: () => `/designer/${NS}/${WORKFLOW}`, ready: jobNode },
  {
    view: "designer, with a job selected",
    route: () => `/designer/${NS}/${WORKFLOW}`,
    ready: jobNode,
    open: async (page) => {
      await jobNode(page).click();
      await page.getByTestId("job-panel").waitFor();
    },
  },
  {
    view: "designer's shortcuts dialog",
    route: () => `/designer/${NS}/${WORKFLOW}`,
    ready: jobNode,
    open: async (page) => {
      await page.getByTestId("help").click();
      await page.getByTestId("shortcuts").waitFor();
    },
  },
  {
    view: "designer's YAML tab",
    route: () => `/designer/${NS}/${WORKFLOW}`,
    ready: jobNode,
    open: async (page) => {
      await page.getByRole("tab", { name: "YAML" }).click();
      await page.locator(".yaml-tab").getByText(WORKFLOW).first().waitFor();
    },
  },
  { view: "run", route: () => `/run/${NS}/${runId}/${JOB}`, ready: (page) => page.getByTestId("log-line").filter({ hasText: "[COUT]" }) },
  {
    view: "run's timeline",
    route: () => `/run/${NS}/${runId}/${JOB}`,
    ready: (page) => page.getByTestId("log-line").filter({ hasText: "[COUT]" }),
    open: async (page) => {
      await page.getByTestId("run-tab-timeline").click();
      await page.getByTestId("timeline-row").first().waitFor();
    },
  },
  { view: "runs", route: () => `/runs/${NS}`, ready: (page) => page.locator(".status-succeeded").first() },
  { view: "versions", route: () => `/versions/${NS}/${WORKFLOW}`, ready: (page) => page.getByTestId("comparison") },
  { view: "workflow list", route: () => `/workflows/${NS}`, ready: (page) => page.getByText(WORKFLOW).first() },
  { view: "registry", route: () => `/registry/${NS}`, ready: (page) => page.getByTestId("component-row").first() },
  { view: "component", route: () => `/registry/${NS}/greeter/1.0.0`, ready: (page) => page.getByTestId("component-page") },
  { view: "publish form", route: () => `/publish/${NS}`, ready: (page) => page.getByTestId("publish-form") },
];

for (const { view, route, ready, open } of VIEWS) {
  test(`asking for dark, the ${view} view has no light box and all its text reads at 4.5:1`, { timeout: 120_000 }, async () => {
    const page = await openPage("dark", route());
    await ready(page).waitFor();
    if (view === "designer") await page.locator(".react-flow__minimap-node").first().waitFor();
    await open?.(page);
    const problems = await problemsOnScreen(page, { lightAllowed: MARKERS });
    assert.deepEqual(problems, [], `in dark, the ${view} view:\n${problems.join("\n")}`);
    assertNoPageProblems(page);
    await page.close();
  });
}

test("the check sees a light box and text that does not read, when there is one", { timeout: 120_000 }, async () => {
  const page = await openPage("dark", `/designer/${NS}/${WORKFLOW}`);
  await jobNode(page).waitFor();
  await page.evaluate(() => {
    const planted = document.createElement("p");
    planted.className = "planted";
    planted.textContent = "a leftover white box";
    planted.style.cssText = "background: #fff; color: #999; position: fixed; top: 200px; left: 400px; padding: 8px";
    document.body.append(planted);
  });
  const problems = await problemsOnScreen(page, { lightAllowed: MARKERS });
  assert.ok(problems.some((problem) => /^p\.planted: a light background/.test(problem)), problems.join("\n"));
  assert.ok(problems.some((problem) => /^p\.planted: text rgb\(153, 153, 153\) at 2\.85:1/.test(problem)), problems.join("\n"));
  await page.close();
});

test("asking for dark, the designer's canvas, minimap and controls follow the theme", { timeout: 120_000 }, async () => {
  const page = await openPage("dark", `/designer/${NS}/${WORKFLOW}`);
  await page.locator(".react-flow__minimap-node").first().waitFor();
  const paint = await page.evaluate(() => ({
    canvas: getComputedStyle(document.querySelector(".react-flow")).backgroundColor,
    minimap: getComputedStyle(document.querySelector(".react-flow__minimap")).backgroundColor,
    minimapNode: getComputedStyle(document.querySelector(".react-flow__minimap-node")).fill,
    control: getComputedStyle(document.querySelector(".react-flow__controls-button")).backgroundColor,
    controlIcon: getComputedStyle(document.querySelector(".react-flow__controls-button svg")).fill,
  }));
  for (const part of ["canvas", "minimap", "minimapNode", "control"]) {
    assert.ok(luminance(parse(paint[part])) < DARK, `the ${part} is ${paint[part]}`);
  }
  assert.ok(contrast(parse(paint.controlIcon), parse(paint.control)) >= 4.5, `the controls' icons: ${paint.controlIcon}`);
  assertNoPageProblems(page);
  await page.close();
});

// --- light ------------------------------------------------------------------------------------

test("asking for light, the designer and the log panel look as they always did", { timeout: 120_000 }, async () => {
  const page = await openPage("light", `/designer/${NS}/${WORKFLOW}`);
  const node = page.locator(`[data-testid="job-node"][data-job="${JOB}"]`);
  await node.waitFor();
  const styleOf = (locator, property) => locator.evaluate((element, name) => getComputedStyle(element)[name], property);
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), "rgb(245, 247, 250)");
  assert.equal(await styleOf(page.locator("main"), "color"), "rgb(31, 41, 51)");
  assert.equal(await styleOf(page.locator(".palette"), "backgroundColor"), "rgb(255, 255, 255)");
  assert.equal(await styleOf(page.locator(".top"), "backgroundColor"), "rgb(31, 41, 51)");
  const { text, background } = await colours(node.locator(".job-name"));
  assert.deepEqual(background, { r: 255, g: 255, b: 255, a: 1 });
  assert.ok(contrast(text, background) >= 4.5);
  await screenshot(page, "theme-light-designer");

  await page.goto(`${server.url}/#/run/${NS}/${runId}/${JOB}`);
  const line = page.getByTestId("log-line").filter({ hasText: "hello from the dark" });
  await line.waitFor();
  // The log panel is a terminal in both themes.
  assert.equal(await styleOf(page.getByTestId("log-view"), "backgroundColor"), "rgb(22, 24, 29)");
  await assertDarkWithLightText("a log line in light", line.locator(".log-text"));
  const problems = await problemsOnScreen(page, { lightAllowed: ["*"] });
  assert.deepEqual(problems, [], `in light, the run view:\n${problems.join("\n")}`);
  assertNoPageProblems(page);
  await page.close();
});
