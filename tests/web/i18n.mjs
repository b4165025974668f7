// The console and the watch page in Korean, Polish and English (Debian's Chromium, headless): each page
// opened by a browser whose locale is ko-KR, pl-PL or en-US speaks that language (<html lang>, labels,
// money, plurals, problem codes) and the language switch changes it in place.
//
//   node tests/web/i18n.mjs --base http://127.0.0.1:PORT --email E --password P [--screenshots DIR]
//
// Prints one JSON object {ok, checks: [{name, status, detail}], info} and exits 0 when no check failed.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const BASE = args.base || "http://127.0.0.1:8080";
const EMAIL = args.email || "host@demo.liveshop";
const PASSWORD = args.password || "liveshop-demo";
const SHOTS = args.screenshots || null;
const CHROMIUM = process.env.LIVESHOP_CHROMIUM || "/usr/bin/chromium";
const T = Number(process.env.LIVESHOP_WEB_TIMEOUT_MS || 30_000);

const LOCALES = { ko: "ko-KR", pl: "pl-PL", en: "en-US" };
// What each language must show: a label of the console and of the watch page, and money per locale.
const EXPECT = {
  ko: { heading: "내 방송", goLive: "방송 시작", products: "상품", krw: "₩12,000", pln: "PLN 12,000.00", wrong: "이메일 또는 비밀번호가 올바르지 않습니다." },
  pl: { heading: "Twoje transmisje", goLive: "Rozpocznij transmisję", products: "Produkty", krw: "12 000 KRW", pln: "12 000,00 zł", wrong: "Nieprawidłowy e-mail lub hasło." },
  en: { heading: "Your broadcasts", goLive: "Go live", products: "Products", krw: "₩12,000", pln: "PLN 12,000.00", wrong: "Wrong email or password." },
};

const checks = [];
const info = {};
const pageErrors = [];
function record(name, status, detail = "") {
  checks.push({ name, status, detail: String(detail).slice(0, 500) });
}
async function check(name, fn) {
  try {
    record(name, "pass", (await fn()) || "");
    return true;
  } catch (error) {
    record(name, "fail", error && error.message ? error.message.split("\n")[0] : error);
    return false;
  }
}
async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}
/** Intl writes narrow and non-breaking spaces in "12 000,00 zł"; compare texts with plain spaces. */
const plain = (text) => String(text).replace(/[\u00a0\u202f]/g, " ");
function expectText(actual, wanted, what) {
  if (!plain(actual).includes(plain(wanted))) throw new Error(`${what}: wanted ${JSON.stringify(wanted)} in ${JSON.stringify(plain(actual).slice(0, 300))}`);
}

async function call(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = reply.status === 204 ? null : await reply.json();
  if (!reply.ok) throw new Error(`${method} ${path}: HTTP ${reply.status} ${JSON.stringify(data)}`);
  return data;
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
});

async function context(language, extra = {}) {
  const ctx = await browser.newContext({ baseURL: BASE, locale: LOCALES[language], viewport: { width: 1440, height: 900 }, ...extra });
  const page = await ctx.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${language}: ${error.message}`));
  return { ctx, page };
}

async function signIn(page) {
  await page.goto("/console");
  await page.locator('input[name="email"]').fill(EMAIL);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
}

/** A broadcast with products priced in KRW and PLN whose stock counts are 1, 2 and 5 (Polish plurals). */
async function setUp() {
  const { token } = await call("POST", "/api/v1/auth/login", { body: { email: EMAIL, password: PASSWORD } });
  const tag = Date.now().toString(36).toUpperCase();
  const product = (sku, title, price, currency, stock) =>
    call("POST", "/api/v1/products", { token, body: { sku: `${sku}-${tag}`, title, price, currency, stock } });
  info.krw = await product("I18N-KRW", "Matcha 말차", 12000, "KRW", 1);
  info.pln = await product("I18N-PLN", "Bursztyn", 1200000, "PLN", 2);
  info.five = await product("I18N-FIVE", "Five left", 500, "USD", 5);
  const b = await call("POST", "/api/v1/broadcasts", { token, body: { title: `i18n ${tag}` } });
  info.broadcast_id = b.id;
  info.token = token;
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
    await shot(page, `console-${language}`);
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
    const shop = await call("GET", "/api/v1/shop", { token: info.token });
    if (!["en", "ko", "pl"].includes(shop.language)) throw new Error(JSON.stringify(shop));
  });
  await ctx.close();
}

async function run() {
  await setUp();
  for (const language of ["ko", "pl", "en"]) await consoleIn(language);
  await consoleSwitch();
  await check("no script errors in the pages", async () => {
    if (pageErrors.length) throw new Error(pageErrors.join(" | "));
  });
}

try {
  await run();
} catch (error) {
  record("i18n run", "fail", error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
const ok = checks.every((c) => c.status !== "fail");
delete info.token;
process.stdout.write(`${JSON.stringify({ ok, checks, info }, null, 1)}\n`);
process.exit(ok ? 0 : 1);
