// Holds that run out, in a real browser: the checkout sheet says the hold expired and offers to try
// again; units held by someone else show as sold out, then come back when that hold expires.
// Needs a node started with a short LIVESHOP_HOLD_SECONDS (the pytest wrapper uses 6).
//
//   node tests/web/expiry.mjs --base URL --email E --password P

import { args, launch } from "./launch.mjs";

const BASE = args.base;
const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);
const checks = [];
const pageErrors = [];

async function check(name, fn) {
  try {
    checks.push({ name, status: "pass", detail: String((await fn()) || "") });
    return true;
  } catch (error) {
    checks.push({ name, status: "fail", detail: String(error && error.message ? error.message.split("\n")[0] : error) });
    return false;
  }
}

async function rest(method, path, token, body, key) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  const reply = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await reply.json().catch(() => null);
  if (!reply.ok) throw new Error(`${method} ${path} -> ${reply.status} ${JSON.stringify(data)}`);
  return data;
}

const browser = await launch();

async function buyerPage(nickname) {
  const page = await (await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 860 } })).newPage();
  page.on("pageerror", (error) => pageErrors.push(`${nickname}: ${error.message}`));
  return page;
}

async function nickname(page, name) {
  const dialog = page.getByRole("dialog", { name: "Pick a nickname" });
  await dialog.getByLabel("Nickname").fill(name);
  await dialog.getByRole("button", { name: "Continue" }).click();
}

async function run() {
  const { token: host } = await rest("POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest("POST", "/api/v1/broadcasts", host, { title: "Hold expiry" });
  await rest("POST", `/api/v1/broadcasts/${b.id}/start`, host);
  const product = (await rest("GET", "/api/v1/products")).items[2];
  await rest("PUT", `/api/v1/broadcasts/${b.id}/pin`, host, { product_id: product.id });
  const offer = await rest("POST", `/api/v1/broadcasts/${b.id}/offers`, host, { product_id: product.id, price: 500, quantity: 2, per_buyer_limit: 1, duration_s: 600 });

  const a = await buyerPage("Ada");
  await a.goto(`/watch/${b.id}`);
  const sheet = a.getByRole("dialog", { name: "Checkout" });
  if (!(await check("a hold that runs out says so in the checkout sheet, with Try again", async () => {
    await a.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
    await nickname(a, "Ada");
    await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
    const alert = sheet.getByRole("alert").filter({ hasText: /hold expired/i });
    await alert.waitFor({ timeout: T });
    await sheet.getByRole("button", { name: "Try again" }).waitFor({ timeout: T });
    return await alert.textContent();
  }))) return;
  await check("Try again reserves anew and the order goes through", async () => {
    await sheet.getByRole("button", { name: "Try again" }).click();
    await sheet.getByLabel("Full name").fill("Ada Lovelace");
    await sheet.getByLabel("Email").fill("ada@example.com");
    await sheet.getByLabel("Shipping address").fill("12 Analytical St");
    await sheet.getByRole("button", { name: /Place order|Continue to payment/ }).click();
    // a shop on the payment sandbox: pay with the test card
    const form = sheet.getByTestId("payment-element");
    await Promise.race([form.waitFor({ timeout: T }), sheet.getByTestId("order-number").waitFor({ timeout: T })]);
    if (await form.isVisible()) {
      await sheet.getByLabel("Card number").fill("4242 4242 4242 4242");
      await sheet.getByTestId("pay-button").click();
    }
    return (await sheet.getByTestId("order-number").textContent({ timeout: T })).trim();
  });
  await sheet.getByRole("button", { name: "Back to the show" }).click().catch(() => {});

  await check("units on someone else's hold show as sold out, then come back when it expires", async () => {
    const { token: other } = await rest("POST", "/api/v1/auth/guest", null, { nickname: "holder" });
    await rest("POST", `/api/v1/offers/${offer.id}/reservations`, other, { quantity: 1 }, `hold-${Date.now()}`);
    const c = await buyerPage("Cy");
    await c.goto(`/watch/${b.id}`);
    const banner = c.getByTestId("offers").locator(".offer-banner").first();
    await banner.getByTestId("stock-left").filter({ hasText: "Sold out" }).waitFor({ timeout: T });
    await banner.getByText("1 on hold may come back").waitFor({ timeout: T });
    if (!(await banner.getByRole("button", { name: "Sold out" }).isDisabled())) throw new Error("sold-out button is active");
    await banner.getByTestId("stock-left").filter({ hasText: "1 left" }).waitFor({ timeout: T });
    await banner.getByRole("button", { name: /Buy now/ }).waitFor({ timeout: T });
  });

  await check("a buyer at the per-buyer limit is told so next to the Buy button", async () => {
    const banner = a.getByTestId("offers").locator(".offer-banner").first();
    await banner.getByTestId("stock-left").filter({ hasText: "1 left" }).waitFor({ timeout: T });
    await banner.getByRole("button", { name: /Buy now/ }).click();
    const error = banner.getByTestId("buy-error");
    await error.waitFor({ timeout: T });
    const text = await error.textContent();
    if (!/limit/i.test(text)) throw new Error(text);
    return text;
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
console.log(JSON.stringify({ ok, checks }, null, 1));
process.exit(ok ? 0 : 1);
