// LL-HLS in a real browser: the watch page plays the broadcast through hls.js (?delivery=hls), shows an
// offer only when the playhead reaches its moment, and the replay page seeks to a product's moment.
//
//   node tests/web/hls.mjs --base URL --broadcast ID
// Steps are driven by the Python test over stdin/stdout: this script prints `{"step": ...}` lines and
// waits for a line on stdin before the replay part. The last line is the JSON verdict.
import { args, driven, launch, T } from "./launch.mjs";
import { fillBuyer, placeOrder } from "./steps.mjs";

const { next: nextLine, say } = driven();
const errors = [];

const browser = await launch({ autoplay: true });
const verdict = {};
try {
  const page = await browser.newPage({ baseURL: args.base, viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`/watch/${args.broadcast}?delivery=hls`);
  await page.waitForFunction(() => document.querySelector(".stage")?.dataset.delivery === "hls", null, { timeout: T });
  const video = page.locator("[data-testid=video]");
  await page.waitForFunction(() => {
    const v = document.querySelector("[data-testid=video]");
    return v && v.currentTime > 1 && v.getVideoPlaybackQuality().totalVideoFrames > 20;
  }, null, { timeout: T });
  const first = await video.evaluate((v) => ({ t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames }));
  await page.waitForTimeout(1500);
  const later = await video.evaluate((v) => ({ t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames }));
  verdict.playing = { first, later };
  say({ step: "playing" });
  await nextLine(); // the test launches an offer now
  const launched = Date.now();
  await page.locator("[data-testid=offers] [data-testid=stock-left]").first().waitFor({ timeout: T });
  verdict.offer_shown_after_ms = Date.now() - launched;
  verdict.playing_date_at_offer = await video.evaluate((v) => v.dataset.playingDate || null);
  say({ step: "offer-shown" });
  await nextLine(); // the broadcast has ended: the replay
  await page.goto(`/replay/${args.broadcast}`);
  await page.locator("[data-testid=seek]").first().waitFor({ timeout: T });
  const items = await page.locator("[data-testid=timeline] li").evaluateAll((els) => els.map((e) => ({ at: Number(e.dataset.at), type: e.dataset.type })));
  const target = items.findIndex((i) => i.type === "offer");
  await page.locator("[data-testid=seek]").nth(target).click();
  await page.waitForFunction((at) => {
    const v = document.querySelector("[data-testid=replay-video]");
    return v && Math.abs(v.currentTime - at) < 1.5 && v.readyState >= 2;
  }, items[target].at, { timeout: T });
  verdict.replay = {
    items,
    seeked_to: await page.locator("[data-testid=replay-video]").evaluate((v) => v.currentTime),
    now_showing: await page.locator("[data-testid=now-showing]").textContent(),
  };
  // buy from the replay: the host kept the product on sale (a replay offer at the shelf price)
  const shop = page.locator("[data-testid=replay-shop]");
  const button = shop.locator("[data-testid=replay-buy]").first();
  verdict.replay.buy_label = (await button.textContent()).trim();
  await button.click();
  const sheet = page.getByRole("dialog", { name: "Checkout" });
  await sheet.getByTestId("hold-countdown").waitFor({ timeout: T });
  await fillBuyer(sheet, { name: "Ada Lovelace", email: "ada@example.com", address: "12 Analytical St" });
  await placeOrder(sheet);
  verdict.replay.order_total = (await sheet.getByTestId("order-total").textContent()).trim();
} catch (error) {
  verdict.error = String(error && error.message ? error.message.split("\n")[0] : error);
} finally {
  verdict.page_errors = errors;
  await browser.close();
  say({ step: "done", verdict });
  process.exit(0);
}
