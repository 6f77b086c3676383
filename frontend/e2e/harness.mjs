// The browser end-to-end harness: a real `containerops serve` (on real Docker, with its own
// data directory and free port) serving the built designer, and a headless Chromium driven
// by playwright-core. Run by Node's own test runner: `npm run e2e` (after `make frontend`).
//
// Environment:
//   CHROMIUM=/path/to/chromium   the browser (default /usr/bin/chromium, Debian's `chromium`)
//   E2E_KEEP=1                   keep the temporary data and profile directories
//   E2E_VERBOSE=1                copy the server's output to this process's stderr
//   CI=...                       set on CI; a missing browser or engine is never a skip there
//
// Nothing here skips: without Chromium or a Docker engine the suite fails with one sentence.

import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const FRONTEND_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = path.resolve(FRONTEND_DIR, "..");
// The designer's build the tests serve: frontend/dist (`npm run build`), or another build
// folder (CONTAINEROPS_E2E_DIST), so that two builds being tested do not overwrite each other.
export const DIST_DIR = process.env.CONTAINEROPS_E2E_DIST || path.join(FRONTEND_DIR, "dist");
export const RESULTS_DIR = path.join(FRONTEND_DIR, "test-results");
const PYTHON = path.join(REPO_DIR, ".venv", "bin", "python");
const CLI = ["-m", "chalicelib.cli.main"];
// What `make run` loads (`containerops load examples/components examples/workflows`).
const EXAMPLES = ["examples/components", "examples/workflows"];

const HEALTH_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 15_000;
const OUTPUT_LIMIT = 64 * 1024; // the tail of a child's output kept for error messages
const keep = Boolean(process.env.E2E_KEEP);
const verbose = Boolean(process.env.E2E_VERBOSE);

// Children still alive when this process exits (a crashed test) are killed, not left behind.
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Fails with one sentence: on CI and off it, a missing prerequisite is never a skip. */
function missing(sentence) {
  const where = process.env.CI ? " (CI: the browser tests are required, not skipped)" : "";
  return new Error(sentence + where);
}

async function exists(file, mode = fsConstants.F_OK) {
  try {
    await access(file, mode);
    return true;
  } catch {
    return false;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns a child whose stdout and stderr are kept (their tail) in `child.output()`. */
function spawnKept(args, options) {
  const child = spawn(PYTHON, [...CLI, ...args], {
    cwd: REPO_DIR,
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
  let output = "";
  const keepOutput = (chunk) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    if (verbose) process.stderr.write(chunk);
  };
  child.stdout.on("data", keepOutput);
  child.stderr.on("data", keepOutput);
  child.output = () => output.trim();
  child.ended = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.on("error", (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, error });
    });
  });
  children.add(child);
  return child;
}

function describeEnd({ code, signal, error }) {
  if (error) return `could not be started (${error.message})`;
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

async function run(args, env) {
  const child = spawnKept(args, { env });
  const end = await child.ended;
  if (end.code !== 0) {
    throw new Error(`containerops ${args.join(" ")} ${describeEnd(end)}:\n${child.output()}`);
  }
}

async function healthy(url, token) {
  try {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const answer = await fetch(`${url}/api/health`, { headers, signal: AbortSignal.timeout(2_000) });
    return answer.ok;
  } catch {
    return false;
  }
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.ended;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  try {
    return await child.ended;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `containerops serve` on a free port of 127.0.0.1 with a fresh data directory,
 * serving the designer's build (frontend/dist), after loading the examples when asked.
 * Resolves once GET /api/health answers; fails with the server's output if it ends first
 * (no Docker engine, say) or after 30 s.
 *
 * With `token`, the server requires it on every API call (`serve --token`). With
 * `backend: "aws-sandbox"`, the API runs the way AWS would (`serve --backend aws-sandbox`:
 * moto in the server's process, the jobs on Docker), the examples loaded into it by `--load`.
 *
 * @param {{ loadExamples?: boolean, token?: string, backend?: "local" | "aws-sandbox" }} [options]
 * @returns {Promise<{ url: string, port: number, dataDir: string, output: () => string,
 *                     stop: () => Promise<void> }>}
 */
export async function startServer({ loadExamples = true, token, backend = "local" } = {}) {
  if (!(await exists(PYTHON, fsConstants.X_OK))) {
    throw missing(`${PYTHON} is missing: run \`make setup\` first.`);
  }
  if (!(await exists(path.join(DIST_DIR, "index.html")))) {
    throw missing(`${DIST_DIR}/index.html is missing: build the designer with \`make frontend\` first.`);
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "containerops-e2e-data-"));
  const env = { ...process.env, CONTAINEROPS_DATA_DIR: dataDir, NO_COLOR: "1" };
  const removeData = () => (keep ? undefined : rm(dataDir, { recursive: true, force: true }));
  try {
    const onSandbox = backend === "aws-sandbox";
    if (loadExamples && !onSandbox) await run(["--data-dir", dataDir, "load", ...EXAMPLES], env);
    // Locally, jobs may mount only under the allowed roots: the tests' folders are made in
    // the temporary directory (`serve --allow-mount`).
    const backendArgs = onSandbox
      ? ["--backend", "aws-sandbox", ...(loadExamples ? EXAMPLES.flatMap((dir) => ["--load", dir]) : [])]
      : ["--allow-mount", os.tmpdir()];
    // The port is free when probed; another process could still take it before the
    // server binds, so a refused binding is tried again on another port.
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const child = spawnKept(
        ["--data-dir", dataDir, "serve", "--host", "127.0.0.1", "--port", String(port),
          "--static-dir", DIST_DIR, ...backendArgs, ...(token ? ["--token", token] : [])],
        { env },
      );
      const outcome = await waitForHealth(child, url, token);
      if (outcome === "up") {
        let stopped;
        const stop = () => {
          stopped ??= stopChild(child).then(removeData);
          return stopped;
        };
        return { url, port, dataDir, output: child.output, stop };
      }
      const text = child.output();
      if (outcome.end && /cannot listen on/.test(text) && attempt < 3) continue;
      if (!outcome.end) await stopChild(child);
      const why = outcome.end
        ? `${describeEnd(outcome.end)} before answering /api/health`
        : `did not answer ${url}/api/health within ${HEALTH_TIMEOUT_MS / 1000} s`;
      throw new Error(`containerops serve ${why}:\n${text || "(no output)"}`);
    }
  } catch (error) {
    await removeData();
    throw error;
  }
}

async function waitForHealth(child, url, token) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let end = null;
  child.ended.then((result) => {
    end = result;
  });
  while (Date.now() < deadline) {
    if (end) return { end };
    if (await healthy(url, token)) return "up";
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return end ? { end } : {};
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Every page's uncaught errors and console errors, by page.
const problemsOf = new WeakMap();

function watch(page) {
  if (problemsOf.has(page)) return;
  const problems = [];
  problemsOf.set(page, problems);
  page.on("pageerror", (error) => problems.push(`page error: ${error.stack || error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const { url, lineNumber } = message.location();
    // The browser asks for /favicon.ico by itself; the designer has none (yet).
    if (url && new URL(url).pathname === "/favicon.ico") return;
    const where = url ? ` (${url}:${lineNumber})` : "";
    problems.push(`console error: ${message.text()}${where}`);
  });
}

/**
 * Launches headless Chromium (process.env.CHROMIUM, default /usr/bin/chromium) with a fresh
 * profile directory. Every page it opens has its page errors and console errors collected
 * (see `pageProblems` and `assertNoPageProblems`).
 *
 * @returns {Promise<{ context: import("playwright-core").BrowserContext,
 *                     newPage: () => Promise<import("playwright-core").Page>,
 *                     close: () => Promise<void> }>}
 */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!(await exists(executablePath, fsConstants.X_OK))) {
    throw missing(
      `Chromium is not installed at ${executablePath}: install it with \`apt-get install chromium\` ` +
        "(or set CHROMIUM to a Chromium binary).",
    );
  }
  // playwright refuses --user-data-dir among the arguments: a persistent context takes it.
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), "containerops-e2e-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      timeout: 60_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new Error(`Chromium at ${executablePath} did not start: ${error.message}`);
  }
  context.on("page", watch);
  for (const page of context.pages()) watch(page);
  let closed;
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      watch(page);
      return page;
    },
    close() {
      closed ??= context
        .close()
        .catch(() => undefined)
        .then(() => (keep ? undefined : rm(userDataDir, { recursive: true, force: true })));
      return closed;
    },
  };
}

/** The page errors and console errors seen on this page so far (a copy). */
export function pageProblems(page) {
  return [...(problemsOf.get(page) ?? [])];
}

/**
 * Throws, listing them, if the page had any uncaught error or console error. `allow` lists
 * the expected ones (a RegExp, or a string the problem contains), e.g. the browser's own
 * report of an API answer the test provokes:
 * `assertNoPageProblems(page, { allow: [/status of 409 \(Conflict\)/] })`.
 *
 * @param {import("playwright-core").Page} page
 * @param {{ allow?: Array<RegExp | string> }} [options]
 */
export function assertNoPageProblems(page, { allow = [] } = {}) {
  const expected = (problem) =>
    allow.some((pattern) => (typeof pattern === "string" ? problem.includes(pattern) : pattern.test(problem)));
  const problems = pageProblems(page).filter((problem) => !expected(problem));
  if (problems.length > 0) {
    throw new Error(`the page had ${problems.length} error(s):\n${problems.join("\n")}`);
  }
}

/** Saves a full-page screenshot to frontend/test-results/<name>.png; returns its path. */
export async function screenshot(page, name) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, name.endsWith(".png") ? name : `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
