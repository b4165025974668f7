// The console and the watch page in Korean, Polish and English (Debian's Chromium, headless): each page
// opened by a browser whose locale is ko-KR, pl-PL or en-US speaks that language (<html lang>, labels,
// money, plurals, problem codes) and the language switch changes it in place.
//
//   node tests/web/i18n.mjs --base http://127.0.0.1:PORT --email E --password P [--screenshots DIR]
//
// Prints one JSON report {ok, info, checks: [{name, status, detail}]} (tests/web/launch.mjs) and exits 0
// when no check failed.
import { args, launch, report, rest, shot, T } from "./launch.mjs";

const BASE = args.base || "http://127.0.0.1:8080";
const EMAIL = args.email || "host@demo.liveshop";
const PASSWORD = args.password || "liveshop-demo";
const SHOTS = args.screenshots || null;

const LOCALES = { ko: "ko-KR", pl: "pl-PL", en: "en-US" };
// What each language must show: a label of the console and of the watch page, and money per locale.
const EXPECT = {
  ko: { heading: "내 방송", goLive: "방송 시작", products: "상품", krw: "₩12,000", pln: "PLN 12,000.00", wrong: "이메일 또는 비밀번호가 올바르지 않습니다.",
    chat: "라이브 채팅", waiting: "호스트의 영상을 기다리는 중…", buy: "지금 구매", left: { 5: "5개 남음", 2: "2개 남음", 1: "1개 남음" }, soldOut: "품절 — 모든 수량이 판매되었습니다.", nickname: "닉네임" },
  pl: { heading: "Twoje transmisje", goLive: "Rozpocznij transmisję", products: "Produkty", krw: "12 000 KRW", pln: "12 000,00 zł", wrong: "Nieprawidłowy e-mail lub hasło.",
    chat: "Czat na żywo", waiting: "Czekamy na obraz od prowadzącego…", buy: "Kup teraz", left: { 5: "Zostało 5 sztuk", 2: "Zostały 2 sztuki", 1: "Została 1 sztuka" }, soldOut: "Wyprzedane — wszystkie sztuki zostały zarezerwowane.", nickname: "Pseudonim" },
  en: { heading: "Your broadcasts", goLive: "Go live", products: "Products", krw: "₩12,000", pln: "PLN 12,000.00", wrong: "Wrong email or password.",
    chat: "Live chat", waiting: "Waiting for the host's video…", buy: "Buy now", left: { 5: "5 left", 2: "2 left", 1: "1 left" }, soldOut: "Sold out — every unit has been claimed.", nickname: "Nickname" },
};
// The watch page's offer in each language: a product in the currency its shoppers pay in.
const SALE = { ko: ["KRW", 12000, "₩12,000"], pl: ["PLN", 1200000, "12 000,00 zł"], en: ["USD", 1999, "$19.99"] };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

// a failed check's detail may carry what the page showed (toasts, chat, socket frames): keep it long
const r = report({ limit: 2000 });
const { info } = r;
const check = r.check;
let hostToken; // the host's, kept out of the report

/** Intl writes narrow and non-breaking spaces in "12 000,00 zł"; compare texts with plain spaces. */
const plain = (text) => String(text).replace(/[\u00a0\u202f]/g, " ");
function expectText(actual, wanted, what) {
  if (!plain(actual).includes(plain(wanted))) throw new Error(`${what}: wanted ${JSON.stringify(wanted)} in ${JSON.stringify(plain(actual).slice(0, 300))}`);
}

const browser = await launch({ media: true, autoplay: true });

async function context(language, extra = {}) {
  const page = await r.open(browser, language, { baseURL: BASE, locale: LOCALES[language], viewport: { width: 1440, height: 900 }, ...extra });
  return { ctx: page.context(), page };
}

async function signIn(page) {
  await page.goto("/console");
  await page.locator('input[name="email"]').fill(EMAIL);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
}

/** A broadcast with products priced in KRW and PLN whose stock counts are 1, 2 and 5 (Polish plurals). */
async function setUp() {
  const { token } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: EMAIL, password: PASSWORD });
  const tag = Date.now().toString(36).toUpperCase();
  const product = (sku, title, price, currency, stock) =>
    rest(BASE, "POST", "/api/v1/products", token, { sku: `${sku}-${tag}`, title, price, currency, stock });
  info.krw = await product("I18N-KRW", "Matcha 말차", 12000, "KRW", 1);
  info.pln = await product("I18N-PLN", "Bursztyn", 1200000, "PLN", 2);
  info.five = await product("I18N-FIVE", "Five left", 500, "USD", 5);
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", token, { title: `i18n ${tag}` });
  info.broadcast_id = b.id;
  hostToken = token;
}

async function consoleIn(language) {
  const want = EXPECT[language];
  const { ctx, page } = await context(language);
  await check(`console ${language}: wrong password is said in ${language} (invalid_credentials)`, async () => {
    await page.goto("/console");
    await page.locator('input[name="email"]').fill(EMAIL);
    await page.locator('input[name="password"]').fill("not-the-password");
    await page.locator('button[type="submit"]').click();
    const alert = page.locator(".error-text[role=alert]");
    await alert.waitFor({ state: "visible", timeout: T });
    expectText(await alert.textContent(), want.wrong, "the problem's message");
  });
  await check(`console ${language}: <html lang>, labels and the switch's value`, async () => {
    await signIn(page);
    await page.getByRole("heading", { name: want.heading }).waitFor({ timeout: T });
    const lang = await page.evaluate(() => document.documentElement.lang);
    if (lang !== language) throw new Error(`<html lang="${lang}">`);
    const switchValue = await page.getByTestId("language-switch").inputValue();
    if (switchValue !== language) throw new Error(`switch shows ${switchValue}`);
  });
  await check(`console ${language}: studio labels, prices per locale${language === "pl" ? " and Polish plurals (1/2/5)" : ""}`, async () => {
    await page.goto(`/console/broadcasts/${encodeURIComponent(info.broadcast_id)}`);
    await page.getByRole("button", { name: want.goLive }).waitFor({ timeout: T });
    expectText(await page.locator("#catalog-h").textContent(), want.products, "the catalog's heading");
    const row = (p) => page.locator(`.product-row[data-sku="${p.sku}"] .meta`);
    await row(info.krw).waitFor({ timeout: T });
    expectText(await row(info.krw).textContent(), want.krw, "KRW price");
    expectText(await row(info.pln).textContent(), want.pln, "PLN price");
    if (language === "pl") {
      expectText(await row(info.krw).textContent(), "1 sztuka na stanie", "one");
      expectText(await row(info.pln).textContent(), "2 sztuki na stanie", "few");
      expectText(await row(info.five).textContent(), "5 sztuk na stanie", "many");
    }
    if (language === "ko") expectText(await row(info.five).textContent(), "재고 5개", "Korean count");
    await shot(page, SHOTS, `console-${language}`);
  });
  await ctx.close();
}

async function consoleSwitch() {
  const { ctx, page } = await context("en");
  await check("console: the switch re-renders the page in Polish, and the choice outlives a reload", async () => {
    await signIn(page);
    await page.getByRole("heading", { name: EXPECT.en.heading }).waitFor({ timeout: T });
    await page.getByTestId("language-switch").selectOption("pl");
    await page.getByRole("heading", { name: EXPECT.pl.heading }).waitFor({ timeout: T });
    if ((await page.evaluate(() => document.documentElement.lang)) !== "pl") throw new Error("html lang not pl");
    await page.reload();
    await page.getByRole("heading", { name: EXPECT.pl.heading }).waitFor({ timeout: T });
    await page.goto("/console?lang=ko");
    await page.getByRole("heading", { name: EXPECT.ko.heading }).waitFor({ timeout: T });
  });
  await check("console: the shop's settings page sets the default language and currency", async () => {
    await page.goto("/console/shop");
    await page.getByTestId("shop-language").waitFor({ timeout: T });
    const shop = await rest(BASE, "GET", "/api/v1/shop", hostToken);
    if (!["en", "ko", "pl"].includes(shop.language)) throw new Error(JSON.stringify(shop));
  });
  await ctx.close();
}

/** A live broadcast with the product pinned and a flash offer of 5 units on it. */
async function liveSale(language) {
  const token = hostToken;
  const [currency, price] = SALE[language];
  const tag = `${language}-${Date.now().toString(36)}`.toUpperCase();
  const product = await rest(BASE, "POST", "/api/v1/products", token, { sku: `SALE-${tag}`, title: { ko: "말차 티 세트", pl: "Bursztynowy naszyjnik", en: "Organic Cotton Tee" }[language], price, currency, stock: 20, image_url: "/static/products/TEE-ORG-01.svg" });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", token, { title: { ko: "오늘의 라이브 특가", pl: "Wielka wyprzedaż na żywo", en: "Friday live deals" }[language] });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, token);
  await rest(BASE, "PUT", `/api/v1/broadcasts/${b.id}/pin`, token, { product_id: product.id });
  const offer = await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, token, { product_id: product.id, price, quantity: 5, per_buyer_limit: 5, duration_s: 600 });
  return { b, product, offer };
}

async function claim(offer, quantity) {
  const { token } = await rest(BASE, "POST", "/api/v1/auth/guest", null, { nickname: `claimer${Math.random().toString(36).slice(2, 6)}` });
  await rest(BASE, "POST", `/api/v1/offers/${offer.id}/reservations`, token, { quantity }, `k-${Math.random().toString(36).slice(2)}`);
}

async function watchIn(language) {
  const want = EXPECT[language];
  const { b, offer } = await liveSale(language);
  const { ctx, page } = await context(language, PHONE);
  const left = page.getByTestId("stock-left").first();
  await check(`watch ${language}: <html lang>, labels and the offer's price in ${LOCALES[language]}`, async () => {
    await page.goto(`/watch/${encodeURIComponent(b.id)}`);
    await page.getByTestId("offer-banner").first().waitFor({ timeout: T });
    const lang = await page.evaluate(() => document.documentElement.lang);
    if (lang !== language) throw new Error(`<html lang="${lang}">`);
    expectText(await page.locator("#chat-h").textContent(), want.chat, "the chat's heading");
    await page.getByText(want.waiting).waitFor({ timeout: T });
    await page.getByRole("button", { name: new RegExp(want.buy) }).first().waitFor({ timeout: T });
    expectText(await page.getByTestId("offer-banner").first().textContent(), SALE[language][2], "the offer's price");
  });
  await check(`watch ${language}: the units left are counted in ${language} (5, 2, 1)`, async () => {
    await left.filter({ hasText: want.left[5] }).waitFor({ timeout: T });
    await claim(offer, 3);
    await left.filter({ hasText: want.left[2] }).waitFor({ timeout: T });
    await shot(page, SHOTS, `watch-${language}`);
    await claim(offer, 1);
    await left.filter({ hasText: want.left[1] }).waitFor({ timeout: T });
  });
  await check(`watch ${language}: a sold-out claim's problem code is said in ${language} (sold_out)`, async () => {
    const frames = [];
    page.on("websocket", (ws) => ws.on("framereceived", (f) => { const text = String(f.payload); if (/"(error|reservation|offer)"/.test(text)) frames.push(text.slice(0, 160)); }));
    await claim(offer, 1);
    await page.getByTestId("offer-banner").first().locator(".left").filter({ hasText: language === "en" ? "Sold out" : want.soldOut.split(" ")[0] }).waitFor({ timeout: T });
    const chatBox = page.locator('form.chat-form input[type="text"]');
    await chatBox.fill(language === "ko" ? "구매" : "kup");
    await page.locator("form.chat-form button[type=submit]").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(want.nickname).fill(`buyer${language}`);
    await dialog.locator("button[type=submit]").click();
    await page.waitForTimeout(500);
    if ((await chatBox.inputValue()) !== "") await page.locator("form.chat-form button[type=submit]").click();
    await page.locator(".toast.error").filter({ hasText: want.soldOut }).first().waitFor({ timeout: T })
      .catch(async () => { throw new Error(`no sold-out toast; toasts: ${JSON.stringify(await page.locator(".toast").allTextContents())}, chat: ${JSON.stringify(await page.getByTestId("chat-log").textContent())}, frames: ${JSON.stringify(frames)}, offer: ${JSON.stringify(await rest(BASE, "GET", `/api/v1/offers/${offer.id}`))}`); });
  });
  await ctx.close();
}

/** The watch page's auction panel (a module of its own) speaks Polish too: its labels and counted bids. */
async function auctionIn(language) {
  const token = hostToken;
  const tag = `AUC-${language}-${Date.now().toString(36)}`.toUpperCase();
  const product = await rest(BASE, "POST", "/api/v1/products", token, { sku: tag, title: "Bursztynowa broszka", price: 10000, currency: "PLN", stock: 3 });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", token, { title: "Aukcja bursztynu" });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, token);
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/auctions`, token, { product_id: product.id, starting_bid: 10000, increment: 500, duration_s: 600, anti_snipe_s: 10 });
  const { ctx, page } = await context(language, PHONE);
  await check(`watch ${language}: the auction panel speaks ${language} (labels, starting bid, 0 bids)`, async () => {
    await page.goto(`/watch/${encodeURIComponent(b.id)}`);
    const panel = page.getByTestId("auction");
    await panel.filter({ hasText: "Aukcja na żywo" }).waitFor({ timeout: T });
    expectText(await panel.getByTestId("high-bid").textContent(), "Cena wywoławcza 100,00 zł", "the starting bid");
    expectText(await panel.getByTestId("high-bidder").textContent(), "brak ofert", "no bids yet");
    expectText(await panel.textContent(), "0 ofert", "the bids counted in Polish");
    expectText(await panel.getByTestId("bid-step").textContent(), "Licytuj 100,00 zł", "the bid button");
    expectText(await panel.getByTestId("max-bid-go").textContent(), "Ustaw maksimum", "the max bid button");
    const label = await panel.getAttribute("aria-label");
    if (label !== "Aukcja") throw new Error(`aria-label ${JSON.stringify(label)}`);
  });
  await check("watch: the switch re-labels the auction panel in place (Polish to Korean)", async () => {
    const panel = page.getByTestId("auction");
    await page.getByTestId("language-switch").selectOption("ko");
    await panel.filter({ hasText: "라이브 경매" }).waitFor({ timeout: T });
    expectText(await panel.getByTestId("max-bid-go").textContent(), "최대 입찰가 설정", "the max bid button");
    expectText(await panel.textContent(), "입찰 0건", "the bids counted in Korean");
  });
  await ctx.close();
}

async function watchSwitch() {
  const { b } = await liveSale("en");
  const { ctx, page } = await context("en", PHONE);
  await check("watch: the switch re-labels the page in Korean in place (no reload) and keeps the choice", async () => {
    await page.goto(`/watch/${encodeURIComponent(b.id)}`);
    await page.getByText(EXPECT.en.waiting).waitFor({ timeout: T });
    await page.evaluate(() => { window.__samePage = true; });
    await page.getByTestId("language-switch").selectOption("ko");
    await page.getByText(EXPECT.ko.waiting).waitFor({ timeout: T });
    await page.getByTestId("stock-left").filter({ hasText: EXPECT.ko.left[5] }).waitFor({ timeout: T });
    expectText(await page.locator("#chat-h").textContent(), EXPECT.ko.chat, "the chat's heading");
    if (!(await page.evaluate(() => window.__samePage))) throw new Error("the page reloaded");
    if ((await page.evaluate(() => document.documentElement.lang)) !== "ko") throw new Error("html lang");
    await page.reload();
    await page.getByText(EXPECT.ko.waiting).waitFor({ timeout: T });
    await page.goto(`/watch/${encodeURIComponent(b.id)}?lang=pl`);
    await page.getByText(EXPECT.pl.waiting).waitFor({ timeout: T });
  });
  await ctx.close();
}

async function shopDefault() {
  const { b } = await liveSale("en");
  await rest(BASE, "PATCH", "/api/v1/shop", hostToken, { language: "pl" });
  const { ctx, page } = await context("en", { ...PHONE, locale: "de-DE" });
  try {
    await check("watch: a browser asking for none of ko/pl/en gets the shop's default language", async () => {
      await page.goto(`/watch/${encodeURIComponent(b.id)}`);
      await page.getByText(EXPECT.pl.waiting).waitFor({ timeout: T });
      if ((await page.evaluate(() => document.documentElement.lang)) !== "pl") throw new Error("html lang");
    });
  } finally {
    await rest(BASE, "PATCH", "/api/v1/shop", hostToken, { language: "en" });
    await ctx.close();
  }
}

async function run() {
  await setUp();
  const only = process.env.LIVESHOP_I18N_ONLY;
  if (!only) {
    for (const language of ["ko", "pl", "en"]) await consoleIn(language);
    await consoleSwitch();
  }
  for (const language of only ? [only] : ["ko", "pl", "en"]) await watchIn(language);
  if (!only || only === "pl") await auctionIn("pl");
  if (only) return;
  await watchSwitch();
  await shopDefault();
}

await r.run(browser, run, "i18n run");
