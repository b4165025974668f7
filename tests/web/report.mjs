// Attribution to the host's report, in a real browser: a viewer opens the watch page from a TikTok
// link (?utm_source=tiktok&utm_campaign=x) and buys; another comes from Instagram (the referrer alone)
// and only watches; the
// host's report page lists the order and its revenue under TikTok, draws the chart and downloads CSV;
// the studio's live dashboard shows the funnel, and after the end the studio shows the final report.
//
//   node tests/web/report.mjs --base URL --email E --password P [--screenshots DIR]
import { readFileSync } from "node:fs";

import { args, launch, report, rest, shot, T } from "./launch.mjs";
import { fillBuyer, nickname, placeOrder, signIn } from "./steps.mjs";

const BASE = args.base || "http://127.0.0.1:8080";
args.email = args.email || "host@demo.liveshop";
args.password = args.password || "liveshop-demo";
const SHOTS = args.screenshots || null;
const r = report();
const { info } = r;
const browser = await launch({ media: true });

const newPage = (who) => r.open(browser, who, { baseURL: BASE, viewport: { width: 1280, height: 900 }, acceptDownloads: true });

async function run() {
  const { token: host } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", host, { title: `Report ${Date.now().toString(36)}` });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, host);
  const product = (await rest(BASE, "GET", "/api/v1/products")).items[3];
  await rest(BASE, "PUT", `/api/v1/broadcasts/${b.id}/pin`, host, { product_id: product.id });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, host, { product_id: product.id, price: 1500, quantity: 5, per_buyer_limit: 1, duration_s: 600 });
  info.broadcast = b.id;

  const plain = await newPage("viewer from Instagram (referrer only)");
  await plain.goto(`/watch/${b.id}`, { referer: "https://l.instagram.com/" });
  const viewer = await newPage("viewer from TikTok");
  await viewer.goto(`/watch/${b.id}?utm_source=tiktok&utm_campaign=x`);

  if (!(await r.check("a viewer from a TikTok link buys on the watch page", async () => {
    await viewer.getByTestId("offers").getByRole("button", { name: /Buy now/ }).first().click();
    await nickname(viewer, "Tik");
    const sheet = viewer.getByRole("dialog", { name: "Checkout" });
    await fillBuyer(sheet, { name: "Tik Viewer", email: "tik@example.com", address: "1 Clip Street" });
    info.order = await placeOrder(sheet);
    const order = await rest(BASE, "GET", `/api/v1/orders/${encodeURIComponent(info.order)}`, host);
    info.total = order.total;
    return info.order;
  }))) return;

  await r.check("the report's API counts the order, its revenue and its viewer under tiktok", async () => {
    const order = await rest(BASE, "GET", `/api/v1/orders/${encodeURIComponent(info.order)}`, host);
    if (order.source !== "tiktok") throw new Error(`the order's source is ${order.source}`);
    const deadline = Date.now() + T;
    for (;;) {
      const report = await rest(BASE, "GET", `/api/v1/broadcasts/${b.id}/report`, host);
      const tiktok = report.sources.find((s) => s.source === "tiktok");
      const instagram = report.sources.find((s) => s.source === "instagram");
      if (tiktok && tiktok.orders === 1 && tiktok.reserved === 1 && tiktok.paid_orders === 1 && tiktok.revenue === info.total && tiktok.viewers === 1
        && instagram && instagram.viewers === 1 && instagram.orders === 0) return JSON.stringify(report.sources);
      if (Date.now() > deadline) throw new Error(JSON.stringify(report.sources));
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  const console_ = await newPage("host");
  await r.check("the host's report page shows the sale under TikTok, with a chart", async () => {
    await signIn(console_, args.email, args.password);
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
  await shot(console_, SHOTS, "console-report", { fullPage: true });
  await r.check("the CSV download carries the same tiktok row", async () => {
    const [download] = await Promise.all([console_.waitForEvent("download", { timeout: T }), console_.getByTestId("report-csv").click()]);
    const path = await download.path();
    const lines = readFileSync(path, "utf8").trim().split(/\r?\n/);
    if (lines[0] !== "section,id,name,metric,value") throw new Error(lines[0]);
    const revenue = lines.find((l) => l.startsWith("source,tiktok,tiktok,revenue,"));
    if (!revenue || Number(revenue.split(",").pop()) !== info.total) throw new Error(String(revenue));
    return `${lines.length} rows`;
  });
  await r.check("the studio's live dashboard shows the funnel and the tiktok sale", async () => {
    await console_.goto(`/console/broadcasts/${encodeURIComponent(b.id)}`);
    await console_.getByTestId("live-funnel").filter({ hasText: /1 reserved → 1 ordered → 1 paid/ }).waitFor({ timeout: T });
    await console_.getByTestId("live-sources").locator('li[data-source="tiktok"]').filter({ hasText: "1 order," }).waitFor({ state: "attached", timeout: T });
    await console_.locator(".uplot canvas").first().waitFor({ timeout: T });
    return await console_.getByTestId("live-funnel").textContent();
  });
  await r.check("after the end the studio shows the final report with the tiktok row", async () => {
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

await r.run(browser, run);
