// Tiny WHIP/WHEP client for the browser test pages: non-trickle (waits for ICE gathering), and only
// loopback candidates are sent, so the server never learns (or checks) any other address.
async function negotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  const sdp = pc.localDescription.sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.includes(" 127.0.0.1 "))
    .join("\r\n");
  const headers = { "Content-Type": "application/sdp" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(url, { method: "POST", headers, body: sdp });
  const answer = await resp.text();
  if (resp.status !== 201) throw new Error(`${resp.status} ${answer}`);
  window.sessionUrl = new URL(resp.headers.get("Location"), url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  return resp;
}
