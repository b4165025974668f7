// HLS playback (hls.js from npm, or the browser's own HLS on Safari) for large audiences and when
// WebRTC fails, and the gate that holds room events about pins and offers until the playhead reaches
// the moment they happened (the playlist's EXT-X-DATERANGE), so a viewer seconds behind the live edge
// never sees an offer before the host announces it on screen.
import Hls from "/app/vendor/hls.min.mjs";
import { ptsAfter } from "./frameclock.js";

const NATIVE_TYPE = "application/vnd.apple.mpegurl";

export function hlsPlayable(video) {
  return Hls.isSupported() || video.canPlayType(NATIVE_TYPE) !== "";
}

/**
 * Plays `url` into `video`. onState("connecting"|"playing"|"reconnecting"|"blocked");
 * onMoment(id) when the playhead reaches a pin's or offer's date range.
 * Returns {restart(), stop(), latency()}.
 */
export function playHls(video, url, onState, onMoment = () => {}) {
  let hls = null;
  const seen = new Set();
  const ranges = new Map(); // liveshop item id -> start Date

  const start = () => video.play().then(() => onState("playing")).catch(() => onState("blocked"));

  function checkMoments() {
    const now = hls ? hls.playingDate : null;
    if (!now) return;
    video.dataset.playingDate = now.toISOString(); // the playhead's wall-clock moment, for checks
    for (const [id, at] of ranges) {
      if (!seen.has(id) && at <= now) {
        seen.add(id);
        onMoment(id);
      }
    }
  }

  function open() {
    onState("connecting");
    if (Hls.isSupported()) {
      hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
      hls.on(Hls.Events.MANIFEST_PARSED, start);
      hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => {
        for (const range of Object.values(data.details.dateRanges || {})) {
          const id = range.attr["X-LIVESHOP-ID"];
          if (id && range.startDate) ranges.set(id, range.startDate);
        }
        checkMoments();
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        onState("reconnecting");
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else setTimeout(() => hls && hls.startLoad(), 1000);
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else {
      video.src = url; // Safari: date ranges arrive as metadata cues
      video.addEventListener("loadedmetadata", start, { once: true });
      video.textTracks.addEventListener("addtrack", (event) => {
        const track = event.track;
        if (track.kind !== "metadata") return;
        track.mode = "hidden";
        track.addEventListener("cuechange", () => {
          for (const cue of track.activeCues || []) {
            const value = cue.value || {};
            if (value.key === "X-LIVESHOP-ID" && !seen.has(value.data)) {
              seen.add(value.data);
              onMoment(value.data);
            }
          }
        });
      });
    }
  }

  video.addEventListener("timeupdate", checkMoments);
  open();
  return {
    restart() {
      if (hls) hls.startLoad();
    },
    stop() {
      video.removeEventListener("timeupdate", checkMoments);
      if (hls) hls.destroy();
      hls = null;
      video.removeAttribute("src");
    },
    /** Seconds behind the live edge (how long the room's news must wait to be in step). */
    latency() {
      return hls && Number.isFinite(hls.latency) ? hls.latency : 6;
    },
  };
}

/**
 * Holds room news about an item (a pin, an offer) until the video reaches it. HLS ("in step"): until
 * the playhead reaches its date range (release(id)). WebRTC: until the presented frame's media pts
 * (frame(pts), from frameclock.js) reaches the event's `media_pts`; without a frame clock (no
 * requestVideoFrameCallback, or an unstamped event) it passes at once. An item whose moment never
 * shows is released after the player's latency (HLS) or WEBRTC_MAX_HOLD_MS, so nothing is lost.
 */
const WEBRTC_MAX_HOLD_MS = 8000;

export function momentGate(latency = () => 0) {
  let inStep = false;
  let shownPts = null; // the WebRTC frame on screen, on the media clock
  const released = new Set();
  const waiting = new Map(); // id -> [fn]
  const atPts = new Map(); // id -> media_pts it waits for (WebRTC)

  function release(id) {
    released.add(id);
    atPts.delete(id);
    const queued = waiting.get(id) || [];
    waiting.delete(id);
    for (const fn of queued) fn();
  }

  function queue(id, fn, ms) {
    if (!waiting.has(id)) {
      waiting.set(id, []);
      setTimeout(() => release(id), ms);
    }
    waiting.get(id).push(fn);
  }

  return {
    inStep(on) {
      inStep = on;
      shownPts = null;
      for (const id of [...waiting.keys()]) release(id);
    },
    /** A WebRTC frame was presented: release what was waiting for it or for an earlier one. */
    frame(pts) {
      shownPts = pts;
      for (const [id, at] of [...atPts]) if (ptsAfter(pts, at)) release(id);
    },
    hold(id, fn, mediaPts = null) {
      if (!id || released.has(id)) return fn();
      if (waiting.has(id)) return waiting.get(id).push(fn); // later news of it (stock) waits behind
      if (!inStep) {
        if (typeof mediaPts !== "number" || shownPts === null || ptsAfter(shownPts, mediaPts)) return fn();
        atPts.set(id, mediaPts);
        return queue(id, fn, WEBRTC_MAX_HOLD_MS);
      }
      return queue(id, fn, (latency() + 1.5) * 1000);
    },
    release,
  };
}
