// A giveaway in a real browser: the host starts one in the studio, one viewer enters with the button
// on the watch page and another with the chat keyword, the host closes it (every page shows the same
// list hash) and draws; the room sees the winner, the winner alone is told they won.
//
//   node tests/web/giveaway.mjs --base URL --email E --password P
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const BASE = args.base;
const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);
const checks = [];
const info = {};
const pageErrors = [];
const cspViolations = [];

async function check(name, fn) {
  try {
    checks.push({ name, status: "pass", detail: String((await fn()) || "") });
    return true;
  } catch (error) {
    checks.push({ name, status: "fail", detail: String(error && error.message ? error.message.split("\n")[0] : error) });
    return false;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.LIVESHOP_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
});

async function page(who) {
  const p = await (await browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 } })).newPage();
  p.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  p.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${who}: ${msg.text()}`);
  });
  return p;
}

async function nickname(p, name) {
  const dialog = p.getByRole("dialog", { name: "Pick a nickname" });
  await dialog.getByLabel("Nickname").fill(name);
  await dialog.getByRole("button", { name: "Continue" }).click();
}

async function run() {
  const host = await page("host");
  if (!(await check("host signs in and opens a new broadcast's studio", async () => {
    await host.goto("/console");
    await host.getByLabel("Email").fill(args.email);
    await host.getByLabel("Password").fill(args.password);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("heading", { name: "Your broadcasts" }).waitFor({ timeout: T });
    const title = `Giveaway night ${Date.now().toString(36)}`;
    await host.getByLabel("New broadcast title").fill(title);
    await host.getByRole("button", { name: "Create broadcast" }).click();
    await host.getByRole("heading", { name: title }).waitFor({ timeout: T });
    info.broadcast_id = decodeURIComponent(new URL(host.url()).pathname.split("/").pop());
    return info.broadcast_id;
  }))) return;
  const studio = host.getByTestId("giveaway-studio");
  if (!(await check("host starts a giveaway with the keyword WIN", async () => {
    await studio.getByLabel("Giveaway product").locator("option").first().waitFor({ state: "attached", timeout: T });
    await studio.getByLabel("Chat keyword").fill("WIN");
    await studio.getByTestId("giveaway-start").click();
    await studio.getByText("Entries open").waitFor({ timeout: T });
  }))) return;

  const ada = await page("Ada");
  const bob = await page("Bob");
  await ada.goto(`/watch/${info.broadcast_id}`);
  await bob.goto(`/watch/${info.broadcast_id}`);
  const adaCard = ada.getByTestId("giveaway");
  const bobCard = bob.getByTestId("giveaway");

  await check("a viewer enters with the Enter giveaway button", async () => {
    await adaCard.getByTestId("giveaway-enter").click();
    await nickname(ada, "Ada");
    await adaCard.getByRole("button", { name: /You're in/ }).waitFor({ timeout: T });
    return await adaCard.getByTestId("giveaway-enter").textContent();
  });
  await check("another viewer enters by typing the keyword in chat", async () => {
    await bobCard.waitFor({ timeout: T });
    await bob.getByLabel("Chat message", { exact: true }).fill("win");
    await bob.getByRole("button", { name: "Send" }).click();
    await nickname(bob, "Bob");
    await bobCard.getByRole("button", { name: /You're in/ }).waitFor({ timeout: T });
  });
  await check("the studio's entrant count follows live", async () => {
    await studio.getByTestId("giveaway-studio-count").filter({ hasText: "2" }).waitFor({ timeout: T });
  });
  await check("closing shows the same frozen list hash in the studio and on the watch pages", async () => {
    await studio.getByTestId("giveaway-close").click();
    const shown = await studio.getByTestId("giveaway-hash").textContent({ timeout: T });
    for (const card of [adaCard, bobCard]) {
      await card.getByTestId("giveaway-hash").filter({ hasText: shown }).waitFor({ timeout: T });
      await card.getByTestId("giveaway-status").filter({ hasText: "Entries closed" }).waitFor({ timeout: T });
    }
    if (!/^[0-9a-f]{64}$/.test(shown)) throw new Error(`not a SHA-256: ${shown}`);
    info.hash = shown;
    return shown;
  });
  await check("the draw shows the winner in the studio and in the room; the winner alone is told", async () => {
    await studio.getByTestId("giveaway-draw").click();
    const line = await studio.getByTestId("giveaway-studio-winner").textContent({ timeout: T });
    const winner = /Ada/.test(line) ? "Ada" : "Bob";
    const [winnerPage, other] = winner === "Ada" ? [adaCard, bobCard] : [bobCard, adaCard];
    await winnerPage.getByTestId("giveaway-winner").filter({ hasText: "You won" }).waitFor({ timeout: T });
    await other.getByTestId("giveaway-winner").filter({ hasText: `Winner: ${winner}` }).waitFor({ timeout: T });
    await other.getByTestId("giveaway-seed").waitFor({ timeout: T });
    return line;
  });
  await check("the published draw checks out against its list and seed", async () => {
    const g = await (await fetch(`${BASE}/api/v1/broadcasts/${info.broadcast_id}/giveaways`)).json();
    const full = await (await fetch(`${BASE}/api/v1/giveaways/${g.items[0].id}`)).json();
    if (full.entrants_hash !== info.hash || full.entrants.length !== 2 || !full.winner.order_id) throw new Error(JSON.stringify(full));
    return full.winner.nickname;
  });
}

try {
  await run();
} catch (error) {
  checks.push({ name: "flow", status: "fail", detail: String(error.stack || error) });
} finally {
  await browser.close().catch(() => {});
}
checks.push(pageErrors.length ? { name: "no script errors in the pages", status: "fail", detail: pageErrors.join(" | ") } : { name: "no script errors in the pages", status: "pass", detail: "" });
checks.push(cspViolations.length ? { name: "no Content-Security-Policy violations", status: "fail", detail: cspViolations.join(" | ") } : { name: "no Content-Security-Policy violations", status: "pass", detail: "" });
const ok = checks.every((c) => c.status === "pass");
console.log(JSON.stringify({ ok, info, checks }, null, 1));
process.exit(ok ? 0 : 1);
