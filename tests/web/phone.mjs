// The watch page on a phone, in a real browser (Debian's Chromium at 390x844 with touch): the video fills
// the screen, the Buy button and the chat sit over it in view, the checkout is a bottom sheet that leaves
// the video visible, landscape works, the page installs (manifest, icons, an offline shell), and axe-core
// finds no serious or critical problem on the watch page or the console.
//
//   node tests/web/phone.mjs --base URL --email E --password P [--screenshots DIR]
//
// Prints one JSON report {ok, info, checks} (tests/web/launch.mjs) and exits 0 when no check failed.
import { readFileSync } from "node:fs";
import { args, launch, report, rest, shot, T } from "./launch.mjs";
import { fillBuyer, placeOrder } from "./steps.mjs";

const BASE = args.base || "http://127.0.0.1:8080";
const EMAIL = args.email || "host@demo.liveshop";
const PASSWORD = args.password || "liveshop-demo";
const SHOTS = args.screenshots || null;
const PORTRAIT = { width: 390, height: 844 };
const LANDSCAPE = { width: 844, height: 390 };
const PHONE = { viewport: PORTRAIT, deviceScaleFactor: 2, isMobile: true, hasTouch: true, baseURL: BASE };
const AXE = readFileSync(new URL("../../web/node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const pages = []; // for a picture of each when a check fails
const r = report({ pictures: { dir: SHOTS, pages } });
const { info } = r;
const check = r.check;

/** axe-core in the page (evaluated over DevTools, so the page's CSP need not allow it): serious and critical only. */
async function axe(page, context = "document") {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE);
  const found = await page.evaluate(async (where) => {
    // axe's default rules: WCAG 2.x A/AA and best practice (its experimental rules stay off)
    const result = await window.axe.run(where === "document" ? document : document.querySelector(where), { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 4) }));
  }, context);
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) throw new Error(`axe: ${JSON.stringify(bad)}`);
  return `${found.length} minor/moderate: ${found.map((v) => v.id).join(", ") || "none"}`;
}

/** Bounding boxes measured in the page, in one go (the offers re-render every second). */
function boxes(page, selectors) {
  return page.evaluate((list) => Object.fromEntries(list.map((s) => {
    const el = document.querySelector(s);
    if (!el) return [s, null];
    const b = el.getBoundingClientRect();
    return [s, { x: b.x, y: b.y, w: b.width, h: b.height, bottom: b.bottom, right: b.right }];
  })), selectors);
}
const inside = (b, vp) => b && b.x >= -1 && b.y >= -1 && b.right <= vp.width + 1 && b.bottom <= vp.height + 1 && b.w > 0 && b.h > 0;
const overlap = (a, b) => a && b && a.x < b.right - 1 && b.x < a.right - 1 && a.y < b.bottom - 1 && b.y < a.bottom - 1;

async function videoCovers(page, vp, share) {
  const { video, scroll } = await page.evaluate(() => {
    const v = document.querySelector('[data-testid="video"]').getBoundingClientRect();
    return { video: { x: v.x, y: v.y, w: v.width, h: v.height }, scroll: document.scrollingElement.scrollHeight - innerHeight };
  });
  const visible = Math.max(0, Math.min(video.x + video.w, vp.width) - Math.max(video.x, 0)) * Math.max(0, Math.min(video.y + video.h, vp.height) - Math.max(video.y, 0));
  const ratio = visible / (vp.width * vp.height);
  if (ratio < share) throw new Error(`the video covers ${(ratio * 100).toFixed(0)}% of the screen`);
  if (scroll > 1) throw new Error(`the page scrolls by ${scroll}px`);
  const fit = await page.evaluate(() => getComputedStyle(document.querySelector("video")).objectFit);
  if (fit !== "cover") throw new Error(`object-fit ${fit}`);
  return `${(ratio * 100).toFixed(0)}% of ${vp.width}x${vp.height}`;
}

/** The Buy buttons (offer and pinned card) lie in the viewport, tall enough for a thumb. */
async function buyInView(page, vp) {
  const found = await page.evaluate(() => [...document.querySelectorAll('[data-slot="offers"] button, [data-slot="product"] button')]
    .filter((el) => /^Buy/.test(el.textContent.trim()) && !el.disabled)
    .map((el) => {
      const b = el.getBoundingClientRect();
      return { text: el.textContent.trim(), x: b.x, y: b.y, w: b.width, h: b.height, bottom: b.bottom, right: b.right };
    }));
  if (found.length < 2) throw new Error(`${found.length} Buy buttons`);
  for (const b of found) {
    if (!inside(b, vp)) throw new Error(`${b.text} at ${JSON.stringify(b)} is outside ${vp.width}x${vp.height}`);
    if (b.h < 44) throw new Error(`${b.text} is ${b.h}px tall`);
  }
  return found.map((b) => `${b.text} at y ${Math.round(b.y)}`).join(", ");
}

/** Waits (a while at most) for the video to show moving frames, so a picture shows the show. */
async function frames(page) {
  await page.waitForFunction(() => {
    const v = document.querySelector("video");
    const before = window.__seen;
    window.__seen = v.currentTime;
    const playing = document.querySelector(".stage").dataset.state === "playing";
    return playing && v.videoWidth > 0 && v.currentTime > 0.4 && before !== undefined && v.currentTime > before;
  }, null, { polling: 250, timeout: 10_000 }).catch(() => {});
}

/** Relative luminance and contrast (WCAG 2). */
function contrast(fg, bg) {
  const lum = ([R, G, B]) => {
    const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(R) + 0.7152 * f(G) + 0.0722 * f(B);
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

/** Chat lines over the video: big enough, shadowed, on a pill dark enough to read over a white frame. */
async function chatReadable(page, vp) {
  const lines = await page.evaluate(() => [...document.querySelectorAll('[data-testid="chat-log"] li')].map((li) => {
    const s = getComputedStyle(li);
    const text = getComputedStyle(li.querySelector(".text") || li);
    const b = li.getBoundingClientRect();
    return { size: parseFloat(text.fontSize), shadow: text.textShadow, color: text.color, bg: s.backgroundColor, x: b.x, y: b.y, w: b.width, h: b.height, bottom: b.bottom, right: b.right };
  }));
  if (lines.length < 3) throw new Error(`${lines.length} chat lines`);
  const video = (await boxes(page, ['[data-testid="video"]']))['[data-testid="video"]'];
  const rgba = (css) => (css.match(/[\d.]+/g) || []).map(Number);
  let worst = Infinity;
  for (const l of lines.slice(-3)) {
    if (l.size < 14) throw new Error(`chat text ${l.size}px`);
    if (!l.shadow || l.shadow === "none") throw new Error("chat text has no shadow over the video");
    if (!inside(l, vp) || !overlap(l, video)) throw new Error(`a chat line at ${JSON.stringify(l)} is not over the video in view`);
    const [r, g, b, a = 1] = rgba(l.bg);
    // the worst frame behind it is white: the line's pill over white
    const over = [r, g, b].map((c) => c * a + 255 * (1 - a));
    worst = Math.min(worst, contrast(rgba(l.color).slice(0, 3), over));
  }
  if (worst < 3) throw new Error(`chat text contrast ${worst.toFixed(2)}:1 over a white frame`);
  return `${lines.length} lines, ${lines[lines.length - 1].size}px, contrast ≥ ${worst.toFixed(1)}:1 over white`;
}

/** No two overlay regions cover each other (chat lines, offers, pinned card, message box). */
async function noOverlaps(page) {
  const b = await boxes(page, ['[data-testid="chat-log"] li:last-child', '[data-slot="offers"]', '[data-slot="product"]', ".chat-form"]);
  const names = Object.keys(b);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (overlap(b[names[i]], b[names[j]])) throw new Error(`${names[i]} overlaps ${names[j]}: ${JSON.stringify([b[names[i]], b[names[j]]])}`);
    }
  }
}

const browser = await launch({ media: true });

async function run() {
  // ---- the show: a host goes live from the studio (fake camera), pins a product with an offer on it ----
  const { token } = await rest(BASE, "POST", "/api/v1/auth/login", null, { email: EMAIL, password: PASSWORD });
  const b = await rest(BASE, "POST", "/api/v1/broadcasts", token, { title: "Spring drop: sneakers and tees" });
  info.broadcast_id = b.id;
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/start`, token);
  const products = (await rest(BASE, "GET", "/api/v1/products")).items;
  const [pinned, other] = products;
  await rest(BASE, "PUT", `/api/v1/broadcasts/${b.id}/pin`, token, { product_id: pinned.id });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, token, { product_id: pinned.id, price: Math.max(100, pinned.price - 500), quantity: 20, per_buyer_limit: 2, duration_s: 900 });
  await rest(BASE, "POST", `/api/v1/broadcasts/${b.id}/offers`, token, { product_id: other.id, price: Math.max(100, other.price - 1000), quantity: 10, per_buyer_limit: 1, duration_s: 900 });

  const hostCtx = await browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 }, permissions: ["camera", "microphone"] });
  const host = await hostCtx.newPage();
  pages.push(host);
  r.watch(host, "host");
  await check("console: the sign-in page has no serious accessibility problem (axe-core)", async () => {
    await host.goto("/console");
    await host.getByLabel("Email").waitFor({ timeout: T });
    return axe(host);
  });
  await host.getByLabel("Email").fill(EMAIL);
  await host.getByLabel("Password").fill(PASSWORD);
  await host.getByRole("button", { name: "Sign in" }).click();
  await check("console: the broadcast list has no serious accessibility problem (axe-core)", async () => {
    await host.getByRole("heading", { name: "Your broadcasts" }).waitFor({ timeout: T });
    return axe(host);
  });
  await host.goto(`/console/broadcasts/${encodeURIComponent(b.id)}`);
  if (!(await check("the host puts the camera on air", async () => {
    await host.getByRole("button", { name: "Put my camera on air" }).click({ timeout: T });
    await host.waitForFunction(async (id) => (await (await fetch(`/api/v1/media/${id}`)).json()).state === "publishing", b.id, { timeout: T, polling: 300 });
  }))) return;
  await check("console: the studio has no serious accessibility problem (axe-core)", () => axe(host));

  // ---- a shopper on a phone ----
  const ctx = await browser.newContext(PHONE);
  const page = await ctx.newPage();
  pages.push(page);
  r.watch(page, "phone");
  await page.goto(`/watch/${encodeURIComponent(b.id)}`);
  await page.getByTestId("pinned-title").filter({ hasText: pinned.title }).waitFor({ timeout: T });

  await check("phone: the video plays and fills the screen (≥ 80 % of it, no scrolling)", async () => {
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="video"]');
      return v.videoWidth > 0 && v.currentTime > 0.3 && !v.paused;
    }, null, { timeout: T }).catch(async (e) => {
      const state = await page.evaluate(() => {
        const v = document.querySelector("video");
        const stage = document.querySelector(".stage").dataset;
        return { w: v.videoWidth, t: v.currentTime, paused: v.paused, ready: v.readyState, state: stage.state, delivery: stage.delivery };
      });
      throw new Error(`${e.message.split("\n")[0]} ${JSON.stringify(state)}`);
    });
    return videoCovers(page, PORTRAIT, 0.8);
  });
  await check("phone: both Buy buttons are in view over the video without scrolling", async () => {
    await page.locator('[data-slot="offers"] .offer-banner').nth(1).waitFor({ timeout: T });
    return buyInView(page, PORTRAIT);
  });

  // the host talks; a viewer on another phone chats too
  for (const text of ["Welcome in! Sizes 38 to 46 today", "The hoodie is back in stock", "Tap Buy before the timer runs out"]) {
    await host.getByLabel("Message to your viewers").fill(text);
    await host.getByLabel("Message to your viewers").press("Enter");
    // the box empties once the room acknowledged it (Enter does nothing while a send is in flight)
    await host.waitForFunction(() => document.querySelector('input[aria-label="Message to your viewers"]').value === "", null, { timeout: T });
  }
  await check("phone: chat lines over the video are readable (size, shadow, contrast over a white frame)", async () => {
    await page.getByTestId("chat-log").getByText("Tap Buy before the timer runs out").waitFor({ timeout: T });
    return chatReadable(page, PORTRAIT);
  });
  await check("phone: the chat, the offers, the pinned card and the message box do not cover each other", () => noOverlaps(page));

  await check("phone: the video starts muted; the unmute button and a tap on the picture turn sound on", async () => {
    const muted = () => page.evaluate(() => document.querySelector("video").muted);
    if (!(await muted())) throw new Error("the video did not start muted");
    const button = page.getByRole("button", { name: "Tap to unmute" });
    const box = await button.boundingBox();
    if (!box || box.height < 44 || !inside({ ...box, right: box.x + box.width, bottom: box.y + box.height, w: box.width, h: box.height }, PORTRAIT)) throw new Error(`unmute button ${JSON.stringify(box)}`);
    await button.tap();
    if (await muted()) throw new Error("still muted after the button");
    await page.getByRole("button", { name: "Mute" }).tap();
    if (!(await muted())) throw new Error("Mute did not mute");
    await page.touchscreen.tap(PORTRAIT.width / 2, PORTRAIT.height * 0.3);
    if (await muted()) {
      const hit = await page.evaluate(([x, y]) => document.elementFromPoint(x, y).outerHTML.slice(0, 80), [PORTRAIT.width / 2, PORTRAIT.height * 0.3]);
      throw new Error(`a tap on the picture did not unmute (it hit ${hit})`);
    }
    await page.getByRole("button", { name: "Mute" }).tap();
  });
  await check("phone: the watch page has no serious accessibility problem (axe-core)", () => axe(page));
  await frames(page);
  await shot(page, SHOTS, "watch-phone");

  await check("phone: the checkout is a bottom sheet; the video stays in view above it", async () => {
    await page.locator('[data-slot="product"]').getByRole("button", { name: /^Buy/ }).tap();
    const dialog = page.getByRole("dialog", { name: "Pick a nickname" });
    await dialog.getByLabel("Nickname").fill("Mina");
    await dialog.getByRole("button", { name: "Continue" }).tap();
    const sheet = page.getByRole("dialog", { name: "Checkout" });
    await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
    await page.waitForTimeout(400); // the sheet's slide-in
    const s = await sheet.boundingBox();
    if (Math.abs(s.y + s.height - PORTRAIT.height) > 2) throw new Error(`the sheet ends at ${s.y + s.height}, not the bottom`);
    if (s.y < PORTRAIT.height * 0.3) throw new Error(`the sheet starts at y ${s.y}: less than 30% of the video shows`);
    if (s.width < PORTRAIT.width - 2) throw new Error(`the sheet is ${s.width}px wide`);
    await fillBuyer(sheet, { name: "Mina Kim", email: "mina@example.com", address: "7 Cherry Lane, Seoul" });
    await sheet.getByLabel("Full name").blur();
    return `sheet from y ${Math.round(s.y)} of ${PORTRAIT.height}`;
  });
  await check("phone: the checkout sheet has no serious accessibility problem (axe-core)", () => axe(page, "dialog"));
  await shot(page, SHOTS, "watch-phone-sheet");
  await check("phone: the order goes through from the sheet", async () => {
    const sheet = page.getByRole("dialog", { name: "Checkout" });
    info.order = await placeOrder(sheet);
    await sheet.getByRole("button", { name: "Back to the show" }).tap();
    return info.order;
  });
  await check("phone: the message box at the bottom sends a chat line", async () => {
    const input = page.getByLabel("Chat message", { exact: true });
    const box = await input.boundingBox();
    if (box.y + box.height > PORTRAIT.height || box.y < PORTRAIT.height / 2) throw new Error(`message box at y ${box.y}`);
    await input.fill("Just bought one!");
    await page.getByRole("button", { name: "Send" }).tap();
    await host.getByTestId("chat-log").getByText("Just bought one!").waitFor({ timeout: T });
  });

  await check("landscape 844x390: the video fills the screen; Buy buttons and chat in view, apart", async () => {
    await page.setViewportSize(LANDSCAPE);
    await page.waitForTimeout(300);
    const cover = await videoCovers(page, LANDSCAPE, 0.8);
    const buy = await buyInView(page, LANDSCAPE);
    const b = await boxes(page, ['[data-testid="chat-log"] li:last-child', '[data-slot="offers"]', '[data-slot="product"]', ".chat-form"]);
    for (const [name, box] of Object.entries(b)) if (!inside(box, LANDSCAPE)) throw new Error(`${name} at ${JSON.stringify(box)}`);
    await noOverlaps(page);
    return `${cover}; ${buy}`;
  });
  await frames(page);
  await shot(page, SHOTS, "watch-phone-landscape");
  await check("landscape: no serious accessibility problem (axe-core)", () => axe(page));
  await page.setViewportSize(PORTRAIT);

  await check("reduced motion: the live badge stops pulsing and the sheet does not slide", async () => {
    await page.emulateMedia({ reducedMotion: "reduce" });
    const [badge, spin] = await page.evaluate(() => [
      getComputedStyle(document.querySelector(".badge.live"), "::before").animationName,
      parseFloat(getComputedStyle(document.querySelector(".badge.live"), "::before").animationDuration || "0"),
    ]);
    if (badge !== "none" && spin > 0.01) throw new Error(`badge animation ${badge} ${spin}s`);
    await page.emulateMedia({ reducedMotion: "no-preference" });
    const moving = await page.evaluate(() => getComputedStyle(document.querySelector(".badge.live"), "::before").animationName);
    if (moving === "none") throw new Error("the badge does not pulse without the preference either");
  });

  // ---- installable: manifest, icons, the offline shell ----
  await check("the web app manifest is valid: name, standalone, this show as start, icons 192/512 and maskable", async () => {
    const href = await page.evaluate(() => document.querySelector('link[rel="manifest"]').href);
    const reply = await page.request.get(href);
    const type = reply.headers()["content-type"];
    if (!/^application\/manifest\+json/.test(type)) throw new Error(`Content-Type ${type}`);
    const m = await reply.json();
    for (const key of ["name", "short_name", "start_url", "theme_color", "background_color"]) if (!m[key]) throw new Error(`no ${key}`);
    if (m.display !== "standalone") throw new Error(`display ${m.display}`);
    if (m.start_url !== `/watch/${b.id}`) throw new Error(`start_url ${m.start_url}`);
    for (const [size, purpose] of [[192, "any"], [512, "any"], [192, "maskable"], [512, "maskable"]]) {
      const icon = m.icons.find((i) => i.sizes === `${size}x${size}` && i.purpose.split(" ").includes(purpose));
      if (!icon) throw new Error(`no ${purpose} icon ${size}`);
      const png = await page.request.get(icon.src);
      const body = await png.body();
      if (png.headers()["content-type"] !== "image/png" || body.readUInt32BE(16) !== size || body.readUInt32BE(20) !== size) {
        throw new Error(`${icon.src}: ${png.headers()["content-type"]} ${body.readUInt32BE(16)}x${body.readUInt32BE(20)}`);
      }
    }
    return `${m.icons.length} icons, start ${m.start_url}`;
  });
  await check("the service worker registers and serves the shell offline, with an offline notice", async () => {
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    if (new URL(scope).pathname !== "/") throw new Error(`scope ${scope}`);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: T });
    await ctx.setOffline(true);
    await page.reload();
    await page.getByTestId("offline-notice").waitFor({ timeout: T }).catch(async (e) => {
      const state = await page.evaluate(async () => {
        const out = { controller: navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL, caches: {} };
        for (const k of await caches.keys()) out.caches[k] = (await (await caches.open(k)).keys()).length;
        return out;
      }).catch((x) => x.message);
      throw new Error(`${e.message.split("\n")[0]} ${JSON.stringify(state)}`);
    });
    await page.getByTestId("load-error").getByRole("heading", { name: "You are offline" }).waitFor({ timeout: T })
      .catch((e) => { throw new Error(`no offline panel: ${e.message.split("\n")[0]}`); });
    const styled = await page.evaluate(() => getComputedStyle(document.querySelector(".watch-layout")).position);
    if (styled !== "fixed") throw new Error("the stylesheet did not come from the shell");
    const kept = await page.evaluate(async () => {
      const urls = [];
      for (const key of await caches.keys()) for (const req of await (await caches.open(key)).keys()) urls.push(new URL(req.url).pathname);
      return urls;
    });
    const leaked = kept.filter((u) => !u.startsWith("/app/"));
    if (leaked.length) throw new Error(`cached beyond the shell: ${leaked.join(", ")}`);
    await ctx.setOffline(false);
    // back online, the page reloads itself and the show is there again
    await page.getByTestId("pinned-title").filter({ hasText: pinned.title }).waitFor({ timeout: T })
      .catch((e) => { throw new Error(`the show did not come back online: ${e.message.split("\n")[0]}`); });
    return `${kept.length} shell files cached`;
  });

  // ---- the desktop watch page and the keyboard ----
  const desk = await (await browser.newContext({ baseURL: BASE, viewport: { width: 1440, height: 900 } })).newPage();
  r.watch(desk, "desktop");
  pages.push(desk);
  await desk.goto(`/watch/${encodeURIComponent(b.id)}`);
  await desk.getByTestId("pinned-title").waitFor({ timeout: T });
  await desk.locator('[data-slot="offers"] .offer-banner').nth(1).waitFor({ timeout: T });
  await desk.getByLabel("Chat message", { exact: true }).waitFor({ state: "visible", timeout: T });
  await desk.waitForFunction(() => !document.querySelector('input[aria-label="Chat message"]').disabled, null, { timeout: T });
  await check("desktop: the video with the chat column beside it", async () => {
    const box = await boxes(desk, [".stage", ".chat-panel", '[data-slot="offers"]']);
    if (box[".chat-panel"].x < box[".stage"].right) throw new Error(`chat at x ${box[".chat-panel"].x}, video ends at ${box[".stage"].right}`);
    if (box['[data-slot="offers"]'].y < box[".stage"].bottom) throw new Error("the offers are not below the video");
    if (box[".stage"].w < 800) throw new Error(`video ${box[".stage"].w}px wide`);
  });
  await check("keyboard: every control is reached in reading order with a visible focus ring", async () => {
    const seen = [];
    for (let i = 0; i < 30; i++) {
      await desk.keyboard.press("Tab");
      const f = await desk.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const s = getComputedStyle(el);
        return { name: el.getAttribute("aria-label") || el.textContent.trim().slice(0, 30) || el.tagName, outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 };
      });
      if (!f) continue;
      if (!f.outline) throw new Error(`no visible focus on ${f.name}`);
      seen.push(f.name);
      if (f.name === "Send") break;
    }
    const at = (re) => seen.findIndex((n) => re.test(n));
    const order = [/unmute/i, /^Buy now/, /^Buy —/, /^Chat message$/, /^Send$/].map(at);
    if (order.some((i) => i < 0) || order.some((i, k) => k && i < order[k - 1])) throw new Error(`focus order ${seen.join(" → ")}`);
    return seen.join(" → ");
  });
  await check("desktop: the watch page has no serious accessibility problem (axe-core)", () => axe(desk));
}

await r.run(browser, run, "phone");
