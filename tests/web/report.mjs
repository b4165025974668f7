// Attribution to the host's report, in a real browser: a viewer opens the watch page from a TikTok
// link (?utm_source=tiktok&utm_campaign=x) and buys; another comes from Instagram (the referrer alone)
// and only watches; the
// host's report page lists the order and its revenue under TikTok, draws the chart and downloads CSV;
// the studio's live dashboard shows the funnel, and after the end the studio shows the final report.
//
//   node tests/web/report.mjs --base URL --email E --password P [--screenshots DIR]
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const BASE = args.base || "http://127.0.0.1:8080";
args.email = args.email || "host@demo.liveshop";
args.password = args.password || "liveshop-demo";
const SHOTS = args.screenshots || null;
const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);
const checks = [];
const info = {};
const pageErrors = [];

async function check(name, fn) {
  try {
    checks.push({ name, status: "pass", detail: String((await fn()) || "").slice(0, 500) });
    return true;
  } catch (error) {
    checks.push({ name, status: "fail", detail: String(error && error.message ? error.message.split("\n")[0] : error).slice(0, 500) });
    return false;
  }
}

async function rest(method, path, token, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const reply = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await reply.json().catch(() => null);
  if (!reply.ok) throw new Error(`${method} ${path} -> ${reply.status} ${JSON.stringify(data)}`);
  return data;
}

const browser = await chromium.launch({
  executablePath: process.env.LIVESHOP_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  ],
});

async function newPage(who) {
  const page = await (await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, acceptDownloads: true })).newPage();
  page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  page.on("dialog", (dialog) => dialog.dismiss());
  return page;
}

async function run() {
  const { token: host } = await rest("POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest("POST", "/api/v1/broadcasts", host, { title: `Report ${Date.now().toString(36)}` });
  await rest("POST", `/api/v1/broadcasts/${b.id}/start`, host);
  const product = (await rest("GET", "/api/v1/products")).items[3];
  await rest("PUT", `/api/v1/broadcasts/${b.id}/pin`, host, { product_id: product.id });
  await rest("POST", `/api/v1/broadcasts/${b.id}/offers`, host, { product_id: product.id, price: 1500, quantity: 5, per_buyer_limit: 1, duration_s: 600 });
  info.broadcast = b.id;

  const plain = await newPage("viewer from Instagram (referrer only)");
  await plain.goto(`/watch/${b.id}`, { referer: "https://l.instagram.com/" });
  const viewer = await newPage("viewer from TikTok");
  await viewer.goto(`/watch/${b.id}?utm_source=tiktok&utm_campaign=x`);

  if (!(await check("a viewer from a TikTok link buys on the watch page", async () => {
    await viewer.getByTestId("offers").getByRole("button", { name: /Buy now/ }).first().click();
    const dialog = viewer.getByRole("dialog", { name: "Pick a nickname" });
    await dialog.getByLabel("Nickname").fill("Tik");
    await dialog.getByRole("button", { name: "Continue" }).click();
    const sheet = viewer.getByRole("dialog", { name: "Checkout" });
    await sheet.getByLabel("Full name").fill("Tik Viewer");
    await sheet.getByLabel("Email").fill("tik@example.com");
    await sheet.getByLabel("Shipping address").fill("1 Clip Street");
    await sheet.getByRole("button", { name: /Place order|Continue to payment/ }).click();
    const form = sheet.getByTestId("payment-element");
    const number = sheet.getByTestId("order-number");
    await Promise.race([form.waitFor({ timeout: T }), number.waitFor({ timeout: T })]);
    if (await form.isVisible()) {
      await sheet.getByLabel("Card number").fill("4242 4242 4242 4242");
      await sheet.getByTestId("pay-button").click();
    }
    info.order = (await number.textContent({ timeout: T })).trim();
    const order = await rest("GET", `/api/v1/orders/${encodeURIComponent(info.order)}`, host);
    info.total = order.total;
    return info.order;
  }))) return;

  await check("the report's API counts the order, its revenue and its viewer under tiktok", async () => {
    const order = await rest("GET", `/api/v1/orders/${encodeURIComponent(info.order)}`, host);
    if (order.source !== "tiktok") throw new Error(`the order's source is ${order.source}`);
    const deadline = Date.now() + T;
    for (;;) {
      const report = await rest("GET", `/api/v1/broadcasts/${b.id}/report`, host);
      const tiktok = report.sources.find((s) => s.source === "tiktok");
      const instagram = report.sources.find((s) => s.source === "instagram");
      if (tiktok && tiktok.orders === 1 && tiktok.reserved === 1 && tiktok.paid_orders === 1 && tiktok.revenue === info.total && tiktok.viewers === 1
        && instagram && instagram.viewers === 1 && instagram.orders === 0) return JSON.stringify(report.sources);
      if (Date.now() > deadline) throw new Error(JSON.stringify(report.sources));
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  const console_ = await newPage("host");
  await check("the host's report page shows the sale under TikTok, with a chart", async () => {
    await console_.goto("/console");
    await console_.getByLabel("Email").fill(args.email);
    await console_.getByLabel("Password").fill(args.password);
    await console_.getByRole("button", { name: "Sign in" }).click();
    await console_.getByRole("heading", { name: "Your broadcasts" }).waitFor({ timeout: T });
    await console_.goto(`/console/broadcasts/${encodeURIComponent(b.id)}/report`);
    const row = console_.getByTestId("report-sources").locator('tr[data-key="tiktok"]');
    await row.waitFor({ timeout: T });
    const text = (await row.textContent()).replace(/\s+/g, " ");
    if (!/^TikTok/.test(text.trim())) throw new Error(text);
    const cells = await row.locator("td").allTextContents();
    if (cells.slice(1, 5).join() !== "1,1,1,1") throw new Error(`viewers/reserved/orders/paid: ${cells}`);
    if (/^\D*0([.,]00)?$/.test(cells[5].trim())) throw new Error(`revenue ${cells[5]}`);
    await console_.locator('[data-testid="report"] .uplot canvas').first().waitFor({ timeout: T });
    return cells.join(" | ");
  });
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await console_.screenshot({ path: join(SHOTS, "console-report.png"), fullPage: true });
  }
  await check("the CSV download carries the same tiktok row", async () => {
    const [download] = await Promise.all([console_.waitForEvent("download", { timeout: T }), console_.getByTestId("report-csv").click()]);
    const path = await download.path();
    const { readFileSync } = await import("node:fs");
    const lines = readFileSync(path, "utf8").trim().split(/\r?\n/);
    if (lines[0] !== "section,id,name,metric,value") throw new Error(lines[0]);
    const revenue = lines.find((l) => l.startsWith("source,tiktok,tiktok,revenue,"));
    if (!revenue || Number(revenue.split(",").pop()) !== info.total) throw new Error(String(revenue));
    return `${lines.length} rows`;
  });
  await check("the studio's live dashboard shows the funnel and the tiktok sale", async () => {
    await console_.goto(`/console/broadcasts/${encodeURIComponent(b.id)}`);
    await console_.getByTestId("live-funnel").filter({ hasText: /1 reserved → 1 ordered → 1 paid/ }).waitFor({ timeout: T });
    await console_.getByTestId("live-sources").locator('li[data-source="tiktok"]').filter({ hasText: "1 order," }).waitFor({ state: "attached", timeout: T });
    await console_.locator(".uplot canvas").first().waitFor({ timeout: T });
    return await console_.getByTestId("live-funnel").textContent();
  });
  await check("after the end the studio shows the final report with the tiktok row", async () => {
    await console_.getByRole("button", { name: "End broadcast" }).click();
    await console_.getByRole("dialog").getByRole("button", { name: "End broadcast" }).click();
    const final = console_.getByTestId("summary").locator('[data-testid="report"][data-report="final"]');
    await final.waitFor({ timeout: T });
    const row = final.getByTestId("report-sources").locator('tr[data-key="tiktok"]');
    await row.locator("td").first().waitFor({ timeout: T }); // the report's tables render after its frame
    const cells = await row.locator("td").allTextContents();
    if (cells.slice(1, 5).join() !== "1,1,1,1") throw new Error(`final tiktok row: ${cells}`);
    return cells.join(" | ");
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
const ok = checks.every((c) => c.status === "pass");
console.log(JSON.stringify({ ok, checks, info }, null, 1));
process.exit(ok ? 0 : 1);
