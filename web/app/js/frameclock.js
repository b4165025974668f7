// Which frame of the broadcast a WebRTC viewer is seeing, on the clock room events are stamped with.
//
// The node sends every viewer the same packets; each RTP timestamp is that viewer's sender origin plus
// the packet's pts on the broadcast's 90 kHz media clock. The WHEP session tells the origin
// (GET <session>/clock), and requestVideoFrameCallback gives the RTP timestamp of each frame as it is
// presented, so pts = rtpTimestamp - origin (mod 2^32). A pin or offer stamped `media_pts` is shown
// when the video reaches that frame, however deep the jitter buffer or however late the path.

/** Signed distance a - b between two 32-bit RTP-clock values (wraps every 13 h at 90 kHz). */
export function ptsAfter(a, b) {
  return ((a - b) | 0) >= 0;
}

/**
 * Follows `video`'s presented frames once the session's origin is known. onFrame(pts) for each frame;
 * also left in video.dataset.mediaPts. Returns stop().
 */
export function followFrames(video, sessionUrl, onFrame) {
  let stopped = false;
  let origin = null;
  let handle = null;

  async function learnOrigin() {
    for (let attempt = 0; attempt < 20 && !stopped && origin === null; attempt += 1) {
      try {
        const response = await fetch(`${sessionUrl}/clock`);
        if (response.ok) {
          const body = await response.json();
          if (typeof body.rtp_origin === "number") origin = body.rtp_origin;
        }
      } catch {
        /* the next attempt asks again */
      }
      if (origin === null) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (origin !== null && !stopped) handle = video.requestVideoFrameCallback(frame);
  }

  function frame(_now, metadata) {
    if (stopped) return;
    if (typeof metadata.rtpTimestamp === "number") {
      const pts = (metadata.rtpTimestamp - origin) >>> 0;
      video.dataset.mediaPts = String(pts);
      onFrame(pts);
    }
    handle = video.requestVideoFrameCallback(frame);
  }

  if (sessionUrl && "requestVideoFrameCallback" in HTMLVideoElement.prototype) learnOrigin();
  return () => {
    stopped = true;
    if (handle !== null) video.cancelVideoFrameCallback(handle);
    delete video.dataset.mediaPts;
  };
}
