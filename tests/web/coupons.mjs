// Three pins and live coupons in a real browser: the host pins two products and announces a coupon
// from the studio; a viewer sees both products in the watch page's carousel and the coupon, buys with
// the code and sees the discounted total; the studio's uses-left drops.
//
//   node tests/web/coupons.mjs --base URL --email E --password P
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const BASE = args.base;
const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);
const checks = [];
const pageErrors = [];
const info = {};

async function check(name, fn) {
  try {
    checks.push({ name, status: "pass", detail: String((await fn()) || "") });
    return true;
  } catch (error) {
    checks.push({ name, status: "fail", detail: String(error && error.message ? error.message.split("\n")[0] : error) });
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
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
});

async function page(who, viewport = { width: 1440, height: 900 }) {
  const p = await (await browser.newContext({ baseURL: BASE, viewport, permissions: ["camera", "microphone"] })).newPage();
  p.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  p.on("dialog", (dialog) => dialog.dismiss());
  return p;
}

async function run() {
  const { token } = await rest("POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest("POST", "/api/v1/broadcasts", token, { title: `Pins and coupons ${Date.now().toString(36)}` });
  await rest("POST", `/api/v1/broadcasts/${b.id}/start`, token);

  const host = await page("host");
  if (!(await check("host opens the studio", async () => {
    await host.goto("/console");
    await host.getByLabel("Email").fill(args.email);
    await host.getByLabel("Password").fill(args.password);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("heading", { name: "Your broadcasts" }).waitFor({ timeout: T });
    await host.goto(`/console/broadcasts/${b.id}`);
    await host.locator(".product-row").nth(1).waitFor({ timeout: T });
  }))) return;

  const rows = host.locator(".product-row");
  const titles = [(await rows.nth(0).locator(".title").textContent()).trim(), (await rows.nth(1).locator(".title").textContent()).trim()];
  info.titles = titles;
  await check("host pins two products; the pinned set lists both with Unpin buttons", async () => {
    for (const [i, title] of titles.entries()) {
      await rows.nth(i).getByRole("button", { name: `Pin ${title}` }).click();
      await rows.nth(i).getByRole("button", { name: `Unpin ${title}` }).waitFor({ timeout: T });
    }
    const set = host.getByTestId("pinned-set");
    for (const title of titles) await set.getByRole("button", { name: `Unpin ${title}` }).waitFor({ timeout: T });
    return (await set.locator(".pin-row").count()) + " pinned";
  });

  // an offer on the first pinned product (price 10.00), launched over the API to keep this short
  const products = (await rest("GET", "/api/v1/products", token)).items;
  const first = products.find((p) => p.title === titles[0]);
  const offer = await rest("POST", `/api/v1/broadcasts/${b.id}/offers`, token, { product_id: first.id, price: 1000, quantity: 5, per_buyer_limit: 2, duration_s: 600 });

  await check("host announces a 20% coupon from the studio and sees its uses left", async () => {
    const form = host.getByTestId("coupon-form");
    await form.getByLabel("Code").fill("LIVE20");
    await form.getByLabel("Kind").selectOption("percent");
    await form.getByLabel("Value").fill("20");
    await form.getByLabel("Uses in all").fill("5");
    await form.getByRole("button", { name: "Announce coupon" }).click();
    const row = host.getByTestId("coupon-list").locator('[data-code="LIVE20"]');
    await row.getByTestId("uses-left").filter({ hasText: "5 of 5 left" }).waitFor({ timeout: T });
  });

  const viewer = await page("viewer");
  await viewer.goto(`/watch/${b.id}`);
  await check("viewer sees both pinned products in the carousel and the announced coupon", async () => {
    const track = viewer.getByTestId("pin-track");
    await track.locator(".pin-card").nth(1).waitFor({ state: "attached", timeout: T });
    const shown = await track.locator(".pin-card b").allTextContents();
    if (shown.length !== 2 || !titles.every((t) => shown.includes(t))) throw new Error(`carousel shows ${shown}`);
    await viewer.getByTestId("coupons").getByTestId("coupon-code").filter({ hasText: "LIVE20" }).waitFor({ timeout: T });
    const snap = await track.evaluate((el) => getComputedStyle(el).scrollSnapType);
    if (!snap.includes("x")) throw new Error(`scroll-snap-type ${snap}`);
    return shown.join(" | ");
  });

  await check("the carousel's buttons move to the other card", async () => {
    const track = viewer.getByTestId("pin-track");
    await viewer.getByRole("button", { name: "Next pinned product" }).click();
    await viewer.waitForFunction(() => document.querySelector('[data-testid="pin-track"]').scrollLeft > 10, null, { timeout: 5000 });
    await viewer.getByRole("button", { name: "Previous pinned product" }).click();
    await viewer.waitForFunction(() => document.querySelector('[data-testid="pin-track"]').scrollLeft < 5, null, { timeout: 5000 });
    return await track.evaluate((el) => `${el.scrollWidth}/${el.clientWidth}`);
  });

  const sheet = viewer.getByRole("dialog", { name: "Checkout" });
  await check("viewer buys from the carousel with the coupon and sees the discounted total", async () => {
    const card = viewer.getByTestId("pin-track").locator(`.pin-card[data-product="${first.id}"]`);
    await card.getByRole("button", { name: /^Buy/ }).click();
    const nick = viewer.getByRole("dialog", { name: "Pick a nickname" });
    await nick.getByLabel("Nickname").fill("Ada");
    await nick.getByRole("button", { name: "Continue" }).click();
    await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
    await sheet.getByLabel("Full name").fill("Ada Lovelace");
    await sheet.getByLabel("Email").fill("ada@example.com");
    await sheet.getByLabel("Shipping address").fill("12 Analytical St");
    await sheet.getByLabel("Coupon code").fill("live20");
    await sheet.getByTestId("coupon-saving").filter({ hasText: "$8.00" }).waitFor({ timeout: T });
    await sheet.getByRole("button", { name: /(Place order|Continue to payment) · \$8\.00/ }).click();
    const form = sheet.getByTestId("payment-element");
    const done = sheet.getByTestId("confirmation");
    await Promise.race([form.waitFor({ timeout: T }), done.waitFor({ timeout: T })]);
    if (await form.isVisible()) {
      await sheet.getByTestId("pay-button").filter({ hasText: "$8.00" }).waitFor({ timeout: T });
      await sheet.getByLabel("Card number").fill("4242 4242 4242 4242");
      await sheet.getByTestId("pay-button").click();
      await done.waitFor({ timeout: T });
    }
    const total = (await sheet.getByTestId("order-total").textContent()).trim();
    if (total !== "$8.00") throw new Error(`order total ${total}`);
    const discount = (await sheet.getByTestId("order-discount").textContent()).trim();
    if (!discount.includes("LIVE20") || !discount.includes("$2.00")) throw new Error(discount);
    return `${total}; ${discount}`;
  });
  await sheet.getByRole("button", { name: "Back to the show" }).click().catch(() => {});

  await check("the studio's uses left drop to 4 of 5", async () => {
    const row = host.getByTestId("coupon-list").locator('[data-code="LIVE20"]');
    await row.getByTestId("uses-left").filter({ hasText: "4 of 5 left" }).waitFor({ timeout: T });
    const state = await rest("GET", `/api/v1/offers/${offer.id}`);
    if (state.available !== 4) throw new Error(`offer available ${state.available}`);
  });

  await check("host unpins one from the pinned set; the viewer's carousel keeps the other", async () => {
    await host.getByTestId("pinned-set").getByRole("button", { name: `Unpin ${titles[1]}` }).click();
    await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="pin-track"] .pin-card').length === 1, null, { timeout: T });
    const left = (await viewer.getByTestId("pin-track").locator(".pin-card b").allTextContents());
    if (left.length !== 1 || left[0] !== titles[0]) throw new Error(`left ${left}`);
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
