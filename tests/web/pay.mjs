// Paying in a real browser against the node's payment sandbox: a declined card keeps the hold and a
// good card pays; a 3-D Secure card passes its challenge; the host sees the orders paid in the orders
// desk, exports them as CSV and refunds one; the shop's webhook endpoint is added in the console.
//
//   node tests/web/pay.mjs --base URL --email E --password P [--receiver URL] [--stripe-sandbox URL] [--screenshots DIR]
//   node tests/web/pay.mjs --base URL --email E --password P --provider toss   (a Toss shop: the card flow only)
//
// --receiver is a shop system on loopback: <URL>/shop-system answers 200; <URL>/down answers 500 until
// POST <URL>/_control/heal, so a delivery to it fails for good and is replayed from the console.
//
// Prints one JSON object {ok, info, checks: [{name, status, detail}]} and exits 0 when every check passed.
import { readFileSync } from "node:fs";

import { args, launch, report, rest, shot, T } from "./launch.mjs";
import { fillBuyer, nickname, signIn } from "./steps.mjs";

const BASE = args.base;
const pages = new Map(); // who -> page, for a picture when a check fails
const r = report({ csp: true, pictures: { dir: args.screenshots, pages } });
const { info } = r;
const check = r.check;

// Pages fulfilled by the test (to add the strict CSP) carry no address space of their own, so Chromium's
// local-network checks would treat their calls to 127.0.0.1 as a public page reaching into a private
// network; everything here is loopback.
const browser = await launch({
  extra: ["--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights"],
});

// A strict policy as production serves it (no inline script or style; the providers' own origins only).
// A node that sends its own Content-Security-Policy keeps it; otherwise the pages get this one, so a
// page that needed an inline script or style would show up as a violation below.
const STRICT_CSP = [
  "default-src 'self'",
  "script-src 'self' https://js.stripe.com https://js.tosspayments.com",
  "style-src 'self'",
  "img-src 'self' data:",
  `connect-src 'self' https://api.stripe.com https://*.tosspayments.com${args["stripe-sandbox"] ? ` ${args["stripe-sandbox"]}` : ""}`,
  "frame-src https://js.stripe.com https://hooks.stripe.com https://*.tosspayments.com",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

async function page(who, extra = {}) {
  const ctx = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...extra });
  await ctx.route((url) => url.pathname === "/console" || url.pathname.startsWith("/console/") || url.pathname.startsWith("/watch/"), async (route) => {
    const response = await route.fetch();
    const headers = response.headers();
    if (!headers["content-security-policy"]) headers["content-security-policy"] = STRICT_CSP;
    info.csp = headers["content-security-policy"];
    await route.fulfill({ response, headers });
  });
  const p = await ctx.newPage();
  pages.set(who, p);
  r.watch(p, who);
  return p;
}

async function checkoutForm(sheet, name) {
  await fillBuyer(sheet, { name, email: `${name.split(" ")[0].toLowerCase()}@example.com`, address: "12 Analytical St, London" });
  await sheet.getByRole("button", { name: /Continue to payment/ }).click();
  await sheet.getByTestId("payment-element").waitFor({ timeout: T });
}

async function payWith(sheet, number) {
  await sheet.getByLabel("Card number").fill(number);
  await sheet.getByTestId("pay-button").click();
}

async function run() {
  const { token: host } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", host, { title: `Pay test ${Date.now().toString(36)}` });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, host);
  // its own product, so no other flow's running offer is in the way; Toss Payments takes won
  // (a zero-decimal currency, passed as it is)
  const toss = args.provider === "toss";
  const sku = `PAY-${Date.now().toString(36).toUpperCase()}`;
  const product = await rest(BASE, "POST", "/api/v1/products", host, toss
    ? { sku, title: "Hanbok Scarf", price: 15000, currency: "KRW", stock: 20, image_url: "/static/products/BAG-TOT-06.svg" }
    : { sku, title: "Fleece Hoodie", price: 5900, currency: "USD", stock: 20, image_url: "/static/products/HOOD-FLC-02.svg" });
  await rest(BASE, "PUT", `/api/v1/broadcasts/${b.id}/pin`, host, { product_id: product.id });
  const offer = await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, host, { product_id: product.id, price: toss ? 12000 : 1500, quantity: 5, per_buyer_limit: 2, duration_s: 900 });
  info.broadcast_id = b.id;
  if (toss) return payThroughToss(b, offer);

  const h = await page("host");
  if (!(await check("the host signs in to the console", async () => {
    await signIn(h, args.email, args.password);
  }))) return;
  if (args.receiver) {
    await check("the host adds a webhook endpoint and sees its secret once", async () => {
      await h.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Webhooks", exact: true }).click();
      await h.getByLabel("Endpoint URL").fill(`${args.receiver}/shop-system`);
      await h.getByRole("button", { name: "Add endpoint" }).click();
      const secret = (await h.getByTestId("endpoint-secret").textContent()).trim();
      if (!secret.startsWith("whsec_")) throw new Error(secret);
      info.webhook_secret = secret;
      await h.getByRole("button", { name: "I saved it" }).click();
      await h.locator(`[data-endpoint]`, { hasText: `${args.receiver}/shop-system` }).waitFor({ timeout: T });
      if (await h.getByText(secret).count()) throw new Error("the secret is still on the page");
      await shot(h, args.screenshots, "console-webhooks");
    });
    await check("a second endpoint, for paid orders only, is down", async () => {
      await h.getByLabel("Endpoint URL").fill(`${args.receiver}/down`);
      for (const type of ["order.created", "order.refunded", "order.fulfilled", "offer.sold_out"]) await h.getByLabel(type).uncheck();
      await h.getByRole("button", { name: "Add endpoint" }).click();
      await h.getByRole("button", { name: "I saved it" }).click();
      const card = h.locator("[data-endpoint]", { hasText: `${args.receiver}/down` });
      await card.waitFor({ timeout: T });
      const events = await card.textContent();
      if (!/events: order\.paid(?!,)/.test(events) || /order\.created/.test(events)) throw new Error(events);
    });
  }

  const a = await page("viewer");
  await a.goto(`/watch/${b.id}`);
  const sheet = a.getByRole("dialog", { name: "Checkout" });
  await check("under the strict policy the watch page still joins the live room (websocket)", async () => {
    await a.waitForFunction(() => {
      const input = document.querySelector('input[aria-label="Chat message"]');
      return input && !input.disabled;
    }, null, { timeout: T });
  });
  if (!(await check("viewer checks out and sees the sandbox's test-card form with the hold countdown", async () => {
    await a.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
    await nickname(a, "Ada");
    await checkoutForm(sheet, "Ada Lovelace");
    const hold = (await sheet.getByTestId("hold-countdown").textContent()).trim();
    if (!/^\d+:\d\d$/.test(hold)) throw new Error(`countdown ${hold}`);
    await shot(a, args.screenshots, "watch-pay-test-card");
    return hold;
  }))) return;

  if (!(await check("a declined card says so and keeps the hold", async () => {
    const before = (await sheet.getByTestId("hold-countdown").textContent()).trim();
    await payWith(sheet, "4000 0000 0000 0002");
    const error = sheet.getByTestId("pay-error");
    await error.waitFor({ timeout: T });
    const text = await error.textContent();
    if (!/declined/i.test(text) || !/still held/i.test(text)) throw new Error(text);
    await shot(a, args.screenshots, "watch-pay-declined");
    const o = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (o.held !== 1 || o.sold !== 0) throw new Error(`after the decline the offer shows held ${o.held}, sold ${o.sold}`);
    await a.waitForFunction((t) => document.querySelector('[data-testid="hold-countdown"]').textContent.trim() !== t, before, { timeout: 5000 });
    return text;
  }))) return;

  if (!(await check("another card pays: the sheet says paid with the order number", async () => {
    await payWith(sheet, "4242 4242 4242 4242");
    const done = sheet.getByTestId("confirmation");
    await done.waitFor({ timeout: T });
    if ((await done.getAttribute("data-status")) !== "paid") throw new Error(`status ${await done.getAttribute("data-status")}`);
    info.order_paid = (await sheet.getByTestId("order-number").textContent()).trim();
    await shot(a, args.screenshots, "watch-pay-paid");
    const o = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (o.sold !== 1 || o.held !== 0) throw new Error(`offer shows held ${o.held}, sold ${o.sold}`);
    await sheet.getByRole("button", { name: "Back to the show" }).click();
    return info.order_paid;
  }))) return;

  await check("a 3-D Secure card shows the challenge step, then pays", async () => {
    await a.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
    await checkoutForm(sheet, "Ada Lovelace");
    await payWith(sheet, "4000 0027 6000 3184");
    const challenge = sheet.getByTestId("challenge");
    await challenge.waitFor({ timeout: T });
    await shot(a, args.screenshots, "watch-pay-3ds");
    await challenge.getByRole("button", { name: "Complete authentication" }).click();
    const done = sheet.getByTestId("confirmation");
    await done.waitFor({ timeout: T });
    if ((await done.getAttribute("data-status")) !== "paid") throw new Error(`status ${await done.getAttribute("data-status")}`);
    info.order_3ds = (await sheet.getByTestId("order-number").textContent()).trim();
    await sheet.getByRole("button", { name: "Back to the show" }).click();
    return info.order_3ds;
  });

  if (args["stripe-sandbox"]) {
    await check("production path: Stripe's Payment Element (a double at js.stripe.com) declines, then pays", async () => {
      const v = await page("viewer (Stripe.js)");
      const ctx = v.context();
      const logs = [];
      v.on("console", (m) => logs.push(m.text()));
      const double = readFileSync(new URL("./stripe-double.js", import.meta.url), "utf8");
      await ctx.addInitScript((url) => { window.__stripeSandbox = url; }, args["stripe-sandbox"]);
      await ctx.route("https://js.stripe.com/v3", (route) => route.fulfill({ contentType: "text/javascript", body: double }));
      // as a shop with real keys answers: not on a sandbox, so the page loads Stripe.js
      await ctx.route((url) => url.pathname === "/api/v1/payments/config", (route) =>
        route.fulfill({ contentType: "application/json", body: JSON.stringify({ provider: "stripe", test_mode: false, publishable_key: "pk_test_sandbox_liveshop", client_key: null }) }));
      await v.goto(`/watch/${b.id}`);
      await v.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
      await nickname(v, "Bea");
      const s2 = v.getByRole("dialog", { name: "Checkout" });
      await checkoutForm(s2, "Bea Stripe");
      if (await s2.getByLabel("Card number", { exact: true }).count()) throw new Error("the test-card form showed instead of Stripe.js");
      await s2.getByLabel("Stripe card number").fill("4000 0000 0000 0002");
      await s2.getByTestId("pay-button").click();
      const error = s2.getByTestId("pay-error");
      await error.waitFor({ timeout: T });
      if (!/declined/i.test(await error.textContent())) throw new Error(`${await error.textContent()} ${logs.join(" | ")}`);
      await s2.getByLabel("Stripe card number").fill("4242 4242 4242 4242");
      await s2.getByTestId("pay-button").click();
      const done = s2.getByTestId("confirmation");
      await done.waitFor({ timeout: T });
      if ((await done.getAttribute("data-status")) !== "paid") throw new Error(`status ${await done.getAttribute("data-status")}`);
      const loaded = await v.evaluate(() => [...document.scripts].map((x) => x.src).filter((src) => src.includes("stripe")));
      if (!loaded.includes("https://js.stripe.com/v3")) throw new Error(`scripts ${loaded}`);
      return (await s2.getByTestId("order-number").textContent()).trim();
    });
  }

  if (!(await check("the host sees the paid order in the orders desk of the broadcast", async () => {
    await h.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Orders", exact: true }).click();
    await h.getByRole("heading", { name: "Orders" }).waitFor({ timeout: T });
    await h.getByLabel("Broadcast").selectOption(b.id);
    const row = h.locator(`tr[data-order="${info.order_paid}"]`);
    await row.getByTestId("order-status").filter({ hasText: "Paid" }).waitFor({ timeout: T });
    await shot(h, args.screenshots, "console-orders");
    return await row.textContent();
  }))) return;

  await check("search by buyer and the status filter narrow the list", async () => {
    await h.getByLabel("Search by buyer").fill("nobody-like-this");
    await h.locator("tr[data-order]").first().waitFor({ state: "detached", timeout: T });
    await h.getByLabel("Search by buyer").fill("ada@");
    await h.locator(`tr[data-order="${info.order_paid}"]`).waitFor({ timeout: T });
    await h.getByLabel("Status").selectOption("refunded");
    await h.locator(`tr[data-order="${info.order_paid}"]`).waitFor({ state: "detached", timeout: T });
    await h.getByLabel("Status").selectOption("");
    await h.locator(`tr[data-order="${info.order_paid}"]`).waitFor({ timeout: T });
  });

  await check("CSV export downloads the broadcast's orders", async () => {
    const [download] = await Promise.all([h.waitForEvent("download", { timeout: T }), h.getByRole("button", { name: "Export CSV" }).click()]);
    const text = readFileSync(await download.path(), "utf8");
    if (!text.includes(info.order_paid)) throw new Error(`the CSV lacks ${info.order_paid}: ${text.slice(0, 300)}`);
    return `${text.split("\n").filter(Boolean).length} lines`;
  });

  await check("the host refunds the paid order; it shows refunded and its unit is back", async () => {
    const row = h.locator(`tr[data-order="${info.order_paid}"]`);
    await row.getByRole("button", { name: "Refund" }).click();
    const dialog = h.getByRole("dialog", { name: `Refund ${info.order_paid}?` });
    await dialog.getByLabel("Reason (optional)").fill("customer request");
    await dialog.getByRole("button", { name: "Refund order" }).click();
    await row.getByTestId("order-status").filter({ hasText: "Refunded" }).waitFor({ timeout: T });
    const order = await rest(BASE, "GET", `/api/v1/orders/${info.order_paid}`, host);
    if (order.status !== "refunded") throw new Error(`API says ${order.status}`);
  });

  await check("the host marks the 3-D Secure order fulfilled", async () => {
    if (!info.order_3ds) throw new Error("no 3-D Secure order to ship");
    const row = h.locator(`tr[data-order="${info.order_3ds}"]`);
    await row.getByRole("button", { name: "Mark fulfilled" }).click();
    await row.getByTestId("order-status").filter({ hasText: "Fulfilled" }).waitFor({ timeout: T });
    if (await row.getByRole("button", { name: "Mark fulfilled" }).count()) throw new Error("still offered to fulfil");
    const order = await rest(BASE, "GET", `/api/v1/orders/${info.order_3ds}`, host);
    if (order.status !== "fulfilled") throw new Error(`API says ${order.status}`);
  });

  await check("the host cancels an order still awaiting payment; its unit goes back on sale", async () => {
    const { token: guest } = await rest(BASE, "POST", "/api/v1/auth/guest", null, { nickname: "undecided" });
    const hold = await rest(BASE, "POST", `/api/v1/offers/${offer.id}/reservations`, guest, { quantity: 1 }, `hold-${Date.now()}`);
    const pending = await rest(BASE, "POST", "/api/v1/orders", guest, { reservation_id: hold.id, buyer: { name: "Una Decided", email: "una@example.com", address: "1 Maybe Lane" } }, `order-${Date.now()}`);
    const before = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    await h.getByLabel("Search by buyer").fill("");
    await h.getByLabel("Status").selectOption("pending_payment");
    const row = h.locator(`tr[data-order="${pending.id}"]`);
    await row.getByTestId("order-status").filter({ hasText: "Awaiting payment" }).waitFor({ timeout: T });
    await row.getByRole("button", { name: "Cancel order" }).click();
    await h.getByRole("dialog", { name: `Cancel ${pending.id}?` }).getByRole("button", { name: "Cancel order" }).click();
    await row.waitFor({ state: "detached", timeout: T });
    await h.getByLabel("Status").selectOption("canceled");
    await h.locator(`tr[data-order="${pending.id}"]`).getByTestId("order-status").filter({ hasText: "Canceled" }).waitFor({ timeout: T });
    const after = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (after.held !== before.held - 1 || after.available !== before.available + 1) throw new Error(`held ${before.held}->${after.held}, available ${before.available}->${after.available}`);
    await h.getByLabel("Status").selectOption("");
  });

  if (args.receiver) {
    await check("the delivery log shows the down endpoint's failed delivery; replay sends it once it is back", async () => {
      await h.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Webhooks", exact: true }).click();
      const card = h.locator("[data-endpoint]", { hasText: `${args.receiver}/down` });
      await card.getByRole("button", { name: "Deliveries" }).click();
      const failed = card.locator("tr[data-delivery]", { hasText: "order.paid" }).filter({ hasText: "Failed" }).first();
      await failed.waitFor({ timeout: T });
      if (!/HTTP 500/.test(await failed.textContent())) throw new Error(await failed.textContent());
      await shot(h, args.screenshots, "console-webhook-log");
      const reply = await fetch(`${args.receiver}/_control/heal`, { method: "POST" });
      if (!reply.ok) throw new Error(`heal ${reply.status}`);
      await failed.getByRole("button", { name: "Replay" }).click();
      await card.locator("tr[data-delivery]", { hasText: "Delivered" }).first().waitFor({ timeout: T });
      return await card.getByTestId("counts").textContent();
    });
  }

}

/** The same sheet on a shop that takes money through Toss Payments (its sandbox's card stand-in). */
async function payThroughToss(b, offer) {
  const a = await page("viewer");
  await a.goto(`/watch/${b.id}`);
  const sheet = a.getByRole("dialog", { name: "Checkout" });
  await check("Toss: a card rejected at confirm keeps the hold; another card pays", async () => {
    await a.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
    await nickname(a, "Min");
    await checkoutForm(sheet, "Kim Minji");
    await payWith(sheet, "4000 0000 0000 0002");
    const error = sheet.getByTestId("pay-error");
    await error.waitFor({ timeout: T });
    const text = await error.textContent();
    if (!/declined/i.test(text) || !/still held/i.test(text)) throw new Error(text);
    const held = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (held.held !== 1) throw new Error(`held ${held.held}`);
    await payWith(sheet, "4330 0000 0000 0001");
    const done = sheet.getByTestId("confirmation");
    await done.waitFor({ timeout: T });
    if ((await done.getAttribute("data-status")) !== "paid") throw new Error(`status ${await done.getAttribute("data-status")}`);
    info.order_paid = (await sheet.getByTestId("order-number").textContent()).trim();
    if (!/12,000/.test(await done.textContent())) throw new Error(`total shown: ${await done.textContent()}`);
    const sold = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (sold.sold !== 1 || sold.held !== 0) throw new Error(`held ${sold.held}, sold ${sold.sold}`);
    return info.order_paid;
  });
}

await r.run(browser, run);
