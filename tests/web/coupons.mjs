// Three pins and live coupons in a real browser: the host pins two products and announces a coupon
// from the studio; a viewer sees both products in the watch page's carousel and the coupon, buys with
// the code and sees the discounted total; the studio's uses-left drops.
//
//   node tests/web/coupons.mjs --base URL --email E --password P
import { args, launch, report, rest, T } from "./launch.mjs";
import { fillBuyer, nickname, placeOrder, signIn } from "./steps.mjs";

const BASE = args.base;
const r = report();
const { info } = r;
const browser = await launch({ media: true });

const page = (who) => r.open(browser, who, { baseURL: BASE, viewport: { width: 1440, height: 900 }, permissions: ["camera", "microphone"] });

async function run() {
  const { token } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: args.email, password: args.password });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", token, { title: `Pins and coupons ${Date.now().toString(36)}` });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, token);

  const host = await page("host");
  if (!(await r.check("host opens the studio", async () => {
    await signIn(host, args.email, args.password);
    await host.goto(`/console/broadcasts/${b.id}`);
    await host.locator(".product-row").nth(1).waitFor({ timeout: T });
  }))) return;

  const rows = host.locator(".product-row");
  const titles = [(await rows.nth(0).locator(".title").textContent()).trim(), (await rows.nth(1).locator(".title").textContent()).trim()];
  info.titles = titles;
  await r.check("host pins two products; the pinned set lists both with Unpin buttons", async () => {
    for (const [i, title] of titles.entries()) {
      await rows.nth(i).getByRole("button", { name: `Pin ${title}` }).click();
      await rows.nth(i).getByRole("button", { name: `Unpin ${title}` }).waitFor({ timeout: T });
    }
    const set = host.getByTestId("pinned-set");
    for (const title of titles) await set.getByRole("button", { name: `Unpin ${title}` }).waitFor({ timeout: T });
    return (await set.locator(".pin-row").count()) + " pinned";
  });

  // an offer on the first pinned product (price 10.00), launched over the API to keep this short
  const products = (await rest(BASE, "GET", "/api/v1/products", token)).items;
  const first = products.find((p) => p.title === titles[0]);
  const offer = await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, token, { product_id: first.id, price: 1000, quantity: 5, per_buyer_limit: 2, duration_s: 600 });

  await r.check("host announces a 20% coupon from the studio and sees its uses left", async () => {
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
  await r.check("viewer sees both pinned products in the carousel and the announced coupon", async () => {
    const track = viewer.getByTestId("pin-track");
    await track.locator(".pin-card").nth(1).waitFor({ state: "attached", timeout: T });
    const shown = await track.locator(".pin-card b").allTextContents();
    if (shown.length !== 2 || !titles.every((t) => shown.includes(t))) throw new Error(`carousel shows ${shown}`);
    await viewer.getByTestId("coupons").getByTestId("coupon-code").filter({ hasText: "LIVE20" }).waitFor({ timeout: T });
    const snap = await track.evaluate((el) => getComputedStyle(el).scrollSnapType);
    if (!snap.includes("x")) throw new Error(`scroll-snap-type ${snap}`);
    return shown.join(" | ");
  });

  await r.check("the carousel's buttons move to the other card", async () => {
    const track = viewer.getByTestId("pin-track");
    await viewer.getByRole("button", { name: "Next pinned product" }).click();
    await viewer.waitForFunction(() => document.querySelector('[data-testid="pin-track"]').scrollLeft > 10, null, { timeout: 5000 });
    await viewer.getByRole("button", { name: "Previous pinned product" }).click();
    await viewer.waitForFunction(() => document.querySelector('[data-testid="pin-track"]').scrollLeft < 5, null, { timeout: 5000 });
    return await track.evaluate((el) => `${el.scrollWidth}/${el.clientWidth}`);
  });

  const sheet = viewer.getByRole("dialog", { name: "Checkout" });
  await r.check("viewer buys from the carousel with the coupon and sees the discounted total", async () => {
    const card = viewer.getByTestId("pin-track").locator(`.pin-card[data-product="${first.id}"]`);
    await card.getByRole("button", { name: /^Buy/ }).click();
    await nickname(viewer, "Ada");
    await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
    await fillBuyer(sheet, { name: "Ada Lovelace", email: "ada@example.com", address: "12 Analytical St" });
    await sheet.getByLabel("Coupon code").fill("live20");
    await sheet.getByTestId("coupon-saving").filter({ hasText: "$8.00" }).waitFor({ timeout: T });
    await placeOrder(sheet, { amount: "$8.00" });
    const total = (await sheet.getByTestId("order-total").textContent()).trim();
    if (total !== "$8.00") throw new Error(`order total ${total}`);
    const discount = (await sheet.getByTestId("order-discount").textContent()).trim();
    if (!discount.includes("LIVE20") || !discount.includes("$2.00")) throw new Error(discount);
    return `${total}; ${discount}`;
  });
  await sheet.getByRole("button", { name: "Back to the show" }).click().catch(() => {});

  await r.check("the studio's uses left drop to 4 of 5", async () => {
    const row = host.getByTestId("coupon-list").locator('[data-code="LIVE20"]');
    await row.getByTestId("uses-left").filter({ hasText: "4 of 5 left" }).waitFor({ timeout: T });
    const state = await rest(BASE, "GET", `/api/v1/offers/${offer.id}`);
    if (state.available !== 4) throw new Error(`offer available ${state.available}`);
  });

  await r.check("host unpins one from the pinned set; the viewer's carousel keeps the other", async () => {
    await host.getByTestId("pinned-set").getByRole("button", { name: `Unpin ${titles[1]}` }).click();
    await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="pin-track"] .pin-card').length === 1, null, { timeout: T });
    const left = (await viewer.getByTestId("pin-track").locator(".pin-card b").allTextContents());
    if (left.length !== 1 || left[0] !== titles[0]) throw new Error(`left ${left}`);
  });
}

await r.run(browser, run);
