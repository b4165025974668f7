// What every browser script in tests/web shares: its command line, Debian's Chromium launched the same
// way, and the JSON report the pytest wrappers read ({ok, info, checks: [{name, status, detail}]}).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

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

/** The checks a script makes and the report it prints at the end. */
export function report() {
  const checks = [];
  const info = {};
  const pageErrors = [];
  const record = (name, status, detail = "") => checks.push({ name, status, detail: String(detail).slice(0, 500) });
  return {
    checks,
    info,
    pageErrors,
    record,
    /** Runs fn as the check `name`: pass with what it returns, fail with its error's first line. */
    async check(name, fn) {
      try {
        record(name, "pass", (await fn()) || "");
        return true;
      } catch (error) {
        record(name, "fail", error && error.message ? error.message.split("\n")[0] : error);
        return false;
      }
    },
    watch(page, who) {
      page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
      page.on("dialog", (dialog) => dialog.dismiss());
    },
    /** Prints the report and exits 0 when no check failed. */
    finish() {
      if (pageErrors.length) record("no script errors in the pages", "fail", pageErrors.join(" | "));
      else record("no script errors in the pages", "pass");
      const ok = checks.every((c) => c.status !== "fail");
      console.log(JSON.stringify({ ok, info, checks }, null, 1));
      process.exit(ok ? 0 : 1);
    },
  };
}

/** A screenshot into `dir` (when given) after the page settles. */
export async function shot(page, dir, name) {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(dir, `${name}.png`) });
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
