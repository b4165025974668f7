// What every browser script in tests/web shares: its command line, Debian's Chromium launched the same
// way, and the JSON report the pytest wrappers read ({ok, info, checks: [{name, status, detail}]}).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
export const { chromium, devices } = require("playwright-core");

/** --name value pairs of the command line, as an object. */
export const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
export const CHROMIUM = process.env.LIVESHOP_CHROMIUM || "/usr/bin/chromium";
export const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);

const QUIET = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
const FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection"];

/**
 * Headless Chromium as the tests run it. `media`: a fake camera and WebRTC on loopback; `autoplay`: video
 * plays with sound without a gesture; `extra`: more switches.
 */
export function launch({ media = false, autoplay = false, extra = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...QUIET, ...(media ? FAKE_MEDIA : []), ...(autoplay ? ["--autoplay-policy=no-user-gesture-required"] : []), ...extra],
  });
}

/**
 * The checks a script makes and the report it prints at the end. A failed check's detail is its error's
 * first `lines` lines (Playwright puts the call log under the first); details are cut at `limit`
 * characters. `csp`: the pages watched are also watched for Content-Security-Policy violations, and the
 * report says whether there were any. `pictures` ({dir, pages}, pages a Map or an array the script fills
 * as it opens them): when a check fails, a screenshot of every page into dir shows why.
 */
export function report({ lines = 1, limit = 500, csp = false, pictures = null } = {}) {
  const checks = [];
  const info = {};
  const pageErrors = [];
  const cspViolations = [];
  const record = (name, status, detail = "") => checks.push({ name, status, detail: String(detail).slice(0, limit) });
  const r = {
    checks,
    info,
    pageErrors,
    record,
    /** Runs fn as the check `name`: pass with what it returns, fail with its error's first line(s). */
    async check(name, fn) {
      try {
        record(name, "pass", (await fn()) || "");
        return true;
      } catch (error) {
        record(name, "fail", error && error.message ? error.message.split("\n").slice(0, lines).join(" | ") : error);
        if (pictures) for (const [who, page] of pictures.pages.entries()) await shot(page, pictures.dir, `failed-${checks.length}-${who}`).catch(() => {});
        return false;
      }
    },
    /** Collects the page's script errors (and CSP violations) under `who`; dismisses its dialogs. */
    watch(page, who) {
      page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
      page.on("dialog", (dialog) => dialog.dismiss());
      if (csp) {
        page.on("console", (msg) => {
          if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${who}: ${msg.text()}`);
        });
      }
    },
    /** A watched page in a context of its own (its own cookies and storage); `options` go to newContext. */
    async open(browser, who, options = {}) {
      const page = await (await browser.newContext(options)).newPage();
      r.watch(page, who);
      return page;
    },
    /** Prints the report and exits 0 when no check failed. */
    finish() {
      record("no script errors in the pages", pageErrors.length ? "fail" : "pass", pageErrors.join(" | "));
      if (csp) record("no Content-Security-Policy violations", cspViolations.length ? "fail" : "pass", cspViolations.join(" | "));
      const ok = checks.every((c) => c.status !== "fail");
      console.log(JSON.stringify({ ok, info, checks }, null, 1));
      process.exit(ok ? 0 : 1);
    },
    /**
     * Runs the script's steps, then closes the browser and finishes: an error no check caught fails the
     * check `name`, so the report still comes out.
     */
    async run(browser, steps, name = "flow") {
      try {
        await steps();
      } catch (error) {
        record(name, "fail", (error && error.stack) || error);
      } finally {
        await browser.close().catch(() => {});
      }
      r.finish();
    },
  };
  return r;
}

/**
 * For a script the Python test drives step by step: `say` prints a JSON line, `next` waits for the
 * test's next line on stdin.
 */
export function driven() {
  const input = createInterface({ input: process.stdin });
  return {
    say: (data) => console.log(JSON.stringify(data)),
    next: () => new Promise((resolve) => input.once("line", resolve)),
  };
}

/** A screenshot into `dir` (when given) after the page settles; `options` go to page.screenshot. */
export async function shot(page, dir, name, options = {}) {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(dir, `${name}.png`), ...options });
}

/** Calls the node's REST API as a client would (JSON in and out; throws on an error answer). */
export async function rest(base, method, path, token, body, key) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  const reply = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await reply.json().catch(() => null);
  if (!reply.ok) throw new Error(`${method} ${path} -> ${reply.status} ${JSON.stringify(data)}`);
  return data;
}
