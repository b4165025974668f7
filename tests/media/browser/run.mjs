// Publishes from one headless Chromium page (fake camera) over WHIP and plays from a second page over
// WHEP; prints one JSON line with what the player saw. Usage: node run.mjs <pages-url> <server> <id> <key>
// Chromium is launched as every browser test launches it (tests/web/launch.mjs, web/'s playwright-core).
import { launch } from "../../web/launch.mjs";

const [pagesUrl, server, id, key] = process.argv.slice(2);
const browser = await launch({ media: true, extra: ["--disable-features=WebRtcHideLocalIpsWithMdns"] });
const result = {};
try {
  const context = await browser.newContext();
  const publisher = await context.newPage();
  const q = `server=${encodeURIComponent(server)}&id=${id}`;
  await publisher.goto(`${pagesUrl}/publish.html?${q}&key=${key}`);
  await publisher.waitForFunction(() => window.state === "connected" || window.state.startsWith("error"), null, { timeout: 20000 });
  result.publisher = await publisher.evaluate(() => window.state);
  const player = await context.newPage();
  await player.goto(`${pagesUrl}/play.html?${q}`);
  await player.waitForFunction(() => window.frames > 10 || window.state.startsWith("error"), null, { timeout: 20000 });
  const first = await player.evaluate(() => ({ frames: window.frames, t: document.getElementById("v").currentTime }));
  await player.waitForTimeout(1500);
  const second = await player.evaluate(() => {
    const v = document.getElementById("v");
    return { frames: window.frames, t: v.currentTime, width: v.videoWidth, height: v.videoHeight, state: window.state };
  });
  result.player = { first, second };
  result.sessionUrl = await player.evaluate(() => window.sessionUrl);
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
