// WebRTC viewers in step, in a real browser: the watch page plays WHEP behind a deep jitter buffer
// (RTCRtpReceiver.jitterBufferTarget, a stand-in for a slow path), and an offer announced at media
// time T must not appear before the video presents the frame of T.
//
//   node tests/web/webrtc_sync.mjs --base URL --broadcast ID --delay-ms 2500
// Prints `{"step": ...}` lines; waits for a line on stdin ("go": the offer is launched now).
import { args, driven, launch, T } from "./launch.mjs";

const { next: nextLine, say } = driven();
const errors = [];

const browser = await launch({ autoplay: true });
const verdict = {};
try {
  const page = await browser.newPage({ baseURL: args.base, viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(`console: ${m.text()}`); });
  await page.addInitScript((delayMs) => {
    // every receiver holds frames `delayMs` before playing them: the page sees a viewer far behind
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(...rest) {
        super(...rest);
        this.addEventListener("track", (event) => {
          if (delayMs > 0) event.receiver.jitterBufferTarget = delayMs;
        });
      }
    };
    // when the offer banner appears, which frame is on screen
    window.__shown = null;
    new MutationObserver(() => {
      const banner = document.querySelector("[data-testid=offer-banner]");
      const video = document.querySelector("[data-testid=video]");
      if (banner && !window.__shown) {
        window.__shown = { at: Date.now(), offerPts: banner.dataset.mediaPts ?? null, framePts: video && video.dataset.mediaPts };
      }
    }).observe(document, { childList: true, subtree: true });
  }, Number(args["delay-ms"]));
  await page.goto(`/watch/${args.broadcast}`);
  await page.waitForFunction(() => {
    const v = document.querySelector("[data-testid=video]");
    return v && v.currentTime > 1 && v.dataset.mediaPts !== undefined && document.querySelector(".stage")?.dataset.delivery === "webrtc";
  }, null, { timeout: T });
  verdict.jitter_buffer_target = await page.evaluate(() => {
    const v = document.querySelector("[data-testid=video]");
    return v.srcObject ? "set" : "none";
  });
  say({ step: "playing" });
  await nextLine(); // the test launches the offer now
  const launched = Date.now();
  await page.waitForFunction(() => window.__shown, null, { timeout: T });
  const shown = await page.evaluate(() => window.__shown);
  verdict.offer_shown_after_ms = shown.at - launched;
  verdict.offer_pts = shown.offerPts === null ? null : Number(shown.offerPts);
  verdict.frame_pts_when_shown = Number(shown.framePts);
} catch (error) {
  verdict.error = String(error && error.message ? error.message.split("\n")[0] : error);
  verdict.page_state = await browser.contexts()[0]?.pages()[0]?.evaluate(() => {
    const v = document.querySelector("[data-testid=video]");
    const fetched = performance.getEntriesByType("resource").filter((e) => e.name.includes("/whep/")).map((e) => `${e.name} ${e.responseStatus}`);
    return { t: v && v.currentTime, pts: v && v.dataset.mediaPts, delivery: document.querySelector(".stage")?.dataset.delivery, fetched };
  }).catch((e) => String(e));
} finally {
  verdict.page_errors = errors;
  await browser.close();
  say({ step: "done", verdict });
  process.exit(0);
}
