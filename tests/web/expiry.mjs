// Holds that run out, in a real browser: the checkout sheet says the hold expired and offers to try
// again; units held by someone else show as sold out, then come back when that hold expires.
// Needs a node started with a short LIVESHOP_HOLD_SECONDS (the pytest wrapper uses 6).
//
//   node tests/web/expiry.mjs --base URL --email E --password P

import { args, launch, report, rest, T } from "./launch.mjs";
import { fillBuyer, nickname, placeOrder } from "./steps.mjs";

const BASE = args.base;
const r = report();
const browser = await launch();

const buyerPage = (who) => r.open(browser, who, { baseURL: BASE, viewport: { width: 1280, height: 860 } });

async function run() {
  const { token: host } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", host, { title: "Hold expiry" });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, host);
  const product = (await rest(BASE, "GET", "/api/v1/products")).items[2];
  await rest(BASE, "PUT", `/api/v1/broadcasts/${b.id}/pin`, host, { product_id: product.id });
  const offer = await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, host, { product_id: product.id, price: 500, quantity: 2, per_buyer_limit: 1, duration_s: 600 });

  const a = await buyerPage("Ada");
  await a.goto(`/watch/${b.id}`);
  const sheet = a.getByRole("dialog", { name: "Checkout" });
  if (!(await r.check("a hold that runs out says so in the checkout sheet, with Try again", async () => {
    await a.getByTestId("offers").getByRole("button", { name: /Buy now/ }).click();
    await nickname(a, "Ada");
    await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
    const alert = sheet.getByRole("alert").filter({ hasText: /hold expired/i });
    await alert.waitFor({ timeout: T });
    await sheet.getByRole("button", { name: "Try again" }).waitFor({ timeout: T });
    return await alert.textContent();
  }))) return;
  await r.check("Try again reserves anew and the order goes through", async () => {
    await sheet.getByRole("button", { name: "Try again" }).click();
    await fillBuyer(sheet, { name: "Ada Lovelace", email: "ada@example.com", address: "12 Analytical St" });
    return placeOrder(sheet);
  });
  await sheet.getByRole("button", { name: "Back to the show" }).click().catch(() => {});

  await r.check("units on someone else's hold show as sold out, then come back when it expires", async () => {
    const { token: other } = await rest(BASE, "POST", "/api/v1/auth/guest", null, { nickname: "holder" });
    await rest(BASE, "POST", `/api/v1/offers/${offer.id}/reservations`, other, { quantity: 1 }, `hold-${Date.now()}`);
    const c = await buyerPage("Cy");
    await c.goto(`/watch/${b.id}`);
    const banner = c.getByTestId("offers").locator(".offer-banner").first();
    await banner.getByTestId("stock-left").filter({ hasText: "Sold out" }).waitFor({ timeout: T });
    await banner.getByText("1 on hold may come back").waitFor({ timeout: T });
    if (!(await banner.getByRole("button", { name: "Sold out" }).isDisabled())) throw new Error("sold-out button is active");
    await banner.getByTestId("stock-left").filter({ hasText: "1 left" }).waitFor({ timeout: T });
    await banner.getByRole("button", { name: /Buy now/ }).waitFor({ timeout: T });
  });

  await r.check("a buyer at the per-buyer limit is told so next to the Buy button", async () => {
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

await r.run(browser, run);
