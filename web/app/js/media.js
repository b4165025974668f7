// WHIP (publish) and WHEP (play) over one RTCPeerConnection each: non-trickle, one offer/answer.
import { followFrames } from "./frameclock.js";

async function waitIce(pc, ms = 2500) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function exchange(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc);
  const headers = { "Content-Type": "application/sdp" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: pc.localDescription.sdp });
  if (response.status !== 201 && response.status !== 200) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      /* not JSON */
    }
    const error = new Error(problem.detail || `${url} answered ${response.status}`);
    error.code = problem.code || (response.status === 404 ? "media_unavailable" : "media_error");
    error.status = response.status;
    throw error;
  }
  const answer = await response.text();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const location = response.headers.get("Location");
  // `url` may be a path ("/whep/..."): resolve against the page first (a path alone is no base URL)
  return location ? new URL(location, new URL(url, window.location.href)).href : null;
}

/** Publishes a MediaStream to the broadcast's WHIP endpoint with the stream key. */
export async function publish(stream, whipUrl, streamKey) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
  let session;
  try {
    session = await exchange(pc, whipUrl, streamKey);
  } catch (error) {
    pc.close();
    throw error;
  }
  return {
    pc,
    async stop() {
      // DELETE first, so the server knows the host stopped on purpose rather than dropped
      if (session) await fetch(session, { method: "DELETE", headers: { Authorization: `Bearer ${streamKey}` } }).catch(() => {});
      pc.close();
    },
  };
}

/**
 * Plays the broadcast from its WHEP endpoint into a <video>; onState("playing"|"reconnecting"|...);
 * onFrame(pts) for each presented frame, on the media clock room events carry (frameclock.js).
 */
export function play(video, whepUrl, onState, token = null, onFrame = null) {
  let pc = null;
  let session = null;
  let unfollow = () => {};
  let stopped = false;
  let retry = null;
  let attempt = 0;

  const schedule = (state = "reconnecting") => {
    if (stopped || retry) return;
    onState(state);
    const delay = Math.min(8000, 1000 * 2 ** Math.min(attempt, 3));
    attempt += 1;
    retry = setTimeout(() => {
      retry = null;
      start();
    }, delay);
  };

  async function start() {
    if (stopped) return;
    if (pc) pc.close();
    pc = new RTCPeerConnection();
    const current = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      if (video.srcObject !== stream) video.srcObject = stream;
      video.play().catch(() => onState("blocked"));
    });
    pc.addEventListener("connectionstatechange", () => {
      if (current !== pc) return;
      if (pc.connectionState === "connected") {
        attempt = 0;
        onState("playing");
      } else if (["failed", "disconnected", "closed"].includes(pc.connectionState)) schedule();
    });
    try {
      onState(attempt ? "reconnecting" : "connecting");
      session = await exchange(pc, whepUrl, token);
      unfollow();
      if (onFrame) unfollow = followFrames(video, session, onFrame);
    } catch (error) {
      // 404/409: the host is not publishing yet; keep asking, quietly
      schedule(error.status === 404 || error.status === 409 ? "offline" : "reconnecting");
    }
  }

  start();
  return {
    restart() {
      attempt = 0;
      if (retry) clearTimeout(retry);
      retry = null;
      start();
    },
    stop() {
      stopped = true;
      unfollow();
      if (retry) clearTimeout(retry);
      if (pc) pc.close();
      if (session) fetch(session, { method: "DELETE" }).catch(() => {});
    },
  };
}
