// The studio of one broadcast: camera preview, Go live / End over WHIP, OBS keys, catalog, offers,
// chat with moderation and the live dashboard. Real-time data comes from the room, else from polling.
import { api } from "./api.js";
import { h, fill, toast, modal } from "./dom.js";
import { clock, explain, now } from "./format.js";
import { joinRoom } from "./room.js";
import { publish } from "./media.js";
import { chatPanel } from "./chat.js";
import { catalogPanels } from "./catalog.js";
import { dashboard } from "./dashboard.js";
import { giveawayStudio } from "./giveaway.js";
import { pinnedSet, pinsOf } from "./pins.js";
import { couponsPanel } from "./coupons.js";

function copyRow(label, value, secret = false) {
  const code = h("code", { "aria-label": label }, secret ? "•".repeat(24) : value);
  let shown = !secret;
  return h("div.stack",
    h("div.muted.small", label),
    h("div.key-row", code, h("div.row",
      secret ? h("button.small.ghost", { type: "button", "aria-label": `Show ${label}`, onclick: (e) => {
        shown = !shown;
        code.textContent = shown ? value : "•".repeat(24);
        e.currentTarget.textContent = shown ? "Hide" : "Show";
      } }, "Show") : null,
      h("button.small", { type: "button", "aria-label": `Copy ${label}`, onclick: async () => {
        try {
          await navigator.clipboard.writeText(value);
          toast(`${label} copied`, "ok", 1500);
        } catch {
          toast("Copy failed: select the text and copy it by hand", "error");
        }
      } }, "Copy"))));
}

export async function studio(root, id, who, { navigate }) {
  const token = who.token;
  let b = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}`, { token });
  if (!b.stream_key) throw Object.assign(new Error("This broadcast belongs to another host"), { code: "forbidden" });
  document.title = `${b.title} · studio`;
  let pins = pinsOf(b); // the most recent pin first
  let stream = null;
  let publisher = null;
  let room = null;
  let roomJoined = false;
  const timers = [];

  // header
  const badge = h("span.badge", { "data-testid": "status-badge" });
  const elapsed = h("span.muted", { "data-testid": "elapsed", "aria-label": "Time live" });
  const liveButton = h("button.primary", { type: "button", onclick: goLive }, "Go live");
  const endButton = h("button.danger", { type: "button", onclick: endShow }, "End broadcast");
  const mediaNote = h("p.notice", { role: "status", hidden: true });

  // camera
  const video = h("video", { autoplay: true, muted: true, playsInline: true, "aria-label": "Camera preview" });
  const videoEmpty = h("div.empty", "Camera off");
  const cameraSelect = h("select", { "aria-label": "Camera", onchange: startCamera });
  const micSelect = h("select", { "aria-label": "Microphone", onchange: startCamera });
  const previewBox = h("div.preview", video, videoEmpty, h("div.overlay", h("span.badge", { "aria-hidden": "true" })));

  // chat
  const chat = chatPanel({
    label: "Message to your viewers",
    hostId: b.host_id,
    send: (text) => (room ? room.send("chat", { text }) : Promise.resolve({ error: { code: "network", detail: "The live room is not connected" } })),
    moderate: async (action, msg) => {
      const payload = { action, message_id: msg.id, user_id: msg.user.id };
      if (action === "timeout") payload.seconds = 300;
      if (action === "ban" && !(await modal(`Ban ${msg.user.nickname}?`, (close) => h("div.stack", h("p", "They will not be able to chat or buy in this broadcast."), h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, "Ban"), h("button", { type: "button", onclick: () => close(false) }, "Cancel")))))) return;
      const ack = room ? await room.send("moderate", payload) : { error: { code: "network" } };
      if (ack && ack.error) toast(explain(ack.error), "error");
      else {
        if (action === "delete") chat.remove(msg.id);
        toast(action === "delete" ? "Message deleted" : action === "timeout" ? `${msg.user.nickname} timed out for 5 minutes` : `${msg.user.nickname} banned`, "ok", 2500);
      }
    },
  });
  const slow = h("select", { "aria-label": "Slow mode" }, [["0", "Off"], ["3", "3 s"], ["10", "10 s"], ["30", "30 s"], ["60", "1 min"]].map(([v, l]) => h("option", { value: v }, l)));
  const blocked = h("input", { type: "text", placeholder: "comma, separated, words", "aria-label": "Blocked words" });
  const settingsForm = h("form.stack", {
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { slow_mode_s: Number(slow.value), blocked_words: blocked.value.split(",").map((w) => w.trim()).filter(Boolean) };
      try {
        showSettings(await api("PUT", `/api/v1/broadcasts/${id}/chat-settings`, { token, body }));
        toast("Chat settings saved", "ok", 2500);
      } catch (e) {
        toast(explain(e), "error");
      }
    },
  }, h("div.grid-2", h("div.field", h("label", { for: "slow-mode" }, "Slow mode"), Object.assign(slow, { id: "slow-mode" })), h("div.field", h("label", { for: "blocked-words" }, "Blocked words"), Object.assign(blocked, { id: "blocked-words" }))), h("button.small", { type: "submit" }, "Save chat settings"));

  function showSettings(data) {
    if (!data) return;
    if (typeof data.slow_mode_s === "number") {
      const value = String(data.slow_mode_s);
      if (![...slow.options].some((o) => o.value === value)) slow.append(h("option", { value }, `${value} s`));
      slow.value = value;
    }
    if (Array.isArray(data.blocked_words)) blocked.value = data.blocked_words.join(", ");
  }

  const dash = dashboard({ id, token });
  // "Large audience": every viewer plays HLS through the CDN (a few seconds behind) instead of WebRTC.
  const largeBox = h("input", { type: "checkbox", id: "large-audience", "data-testid": "large-audience" });
  const largeAudience = h("div.row", largeBox, h("label", { for: "large-audience" }, "Large audience (viewers play HLS through the CDN)"));
  api("GET", `/api/v1/media/${encodeURIComponent(id)}`).then((m) => { largeBox.checked = Boolean(m.large_audience); }).catch(() => {});
  largeBox.addEventListener("change", async () => {
    try {
      await api("PUT", `/api/v1/broadcasts/${encodeURIComponent(id)}/delivery`, { token, body: { large_audience: largeBox.checked } });
      toast(largeBox.checked ? "Viewers move to HLS" : "Viewers stay on WebRTC");
    } catch (error) {
      largeBox.checked = !largeBox.checked;
      toast(explain(error), "error");
    }
  });

  const shop = catalogPanels({
    id,
    token,
    pins: () => pins,
    ended: () => b.status === "ended",
    setPins(list) {
      setPins(list);
    },
    onOffer(o, before) {
      if (!before || before.sold !== o.sold) dash.refresh();
    },
  });

  const giveaway = giveawayStudio({ id, token });
  const pinBox = pinnedSet({ id, token, pins: () => pins, setPins, ended: () => b.status === "ended" });
  const couponBox = couponsPanel({ id, token, ended: () => b.status === "ended", currency: () => (pins[0] || shop.products()[0] || {}).currency || "USD" });
  function setPins(list) {
    pins = list;
    shop.renderProducts();
    pinBox.render();
  }

  const summaryBox = h("div");
  const controls = h("div.row", liveButton, endButton);
  const obs = h("details.panel", h("summary", h("b", "Stream from OBS instead")),
    h("div.stack", { style: { marginTop: ".7rem" } },
      h("p.muted.small", "OBS 30+: Settings → Stream → Service: WHIP. Paste the server URL and the bearer token below."),
      copyRow("WHIP server URL", b.whip_url), copyRow("Stream key", b.stream_key, true)));
  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row",
        h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, "← Broadcasts"),
        h("h1", { style: { margin: 0 } }, b.title), badge, elapsed),
      h("div.row",
        h("a.button.small.ghost", { href: `/console/orders?broadcast_id=${encodeURIComponent(id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname + e.currentTarget.search); } }, "Orders"),
        h("a.button.small.ghost", { href: b.watch_url, target: "_blank", rel: "noopener" }, "Open watch page ↗"), controls)),
    summaryBox,
    h("div.studio",
      h("div.col",
        h("section.panel.stack", { "aria-labelledby": "cam-h" },
          h("h2#cam-h", "Camera"), previewBox,
          h("div.grid-2", h("div.field", h("label", { for: "cam" }, "Camera"), Object.assign(cameraSelect, { id: "cam" })), h("div.field", h("label", { for: "mic" }, "Microphone"), Object.assign(micSelect, { id: "mic" }))),
          mediaNote, largeAudience),
        obs,
        dash.panel),
      h("div.col", shop.offersPanel, pinBox.panel, couponBox.panel, giveaway.panel, shop.catalogPanel),
      h("div.col.side",
        h("section.panel.stack", { "aria-labelledby": "chat-h" }, h("h2#chat-h", "Live chat"), chat.el),
        h("section.panel.stack", { "aria-labelledby": "mod-h" }, h("h2#mod-h", "Chat settings"), settingsForm))));

  function renderStatus() {
    const live = b.status === "live";
    for (const el of [badge, previewBox.querySelector(".overlay .badge")]) {
      el.className = `badge ${live ? "live" : b.status === "ended" ? "ended" : ""}`;
      el.textContent = live ? "Live" : b.status === "ended" ? "Ended" : "Offline";
    }
    liveButton.hidden = live || b.status === "ended";
    endButton.hidden = b.status === "ended";
    if (b.status === "ended") {
      fill(summaryBox, dash.summary(b));
      summaryBox.style.marginBottom = "1rem";
    }
    tickElapsed();
  }

  function tickElapsed() {
    if (b.status === "live" && b.started_at) elapsed.textContent = clock((now() - Date.parse(b.started_at)) / 1000);
    else if (b.status === "ended" && b.started_at && b.ended_at) elapsed.textContent = clock((Date.parse(b.ended_at) - Date.parse(b.started_at)) / 1000);
    else elapsed.textContent = "";
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fillSelect = (select, kind) => {
      const current = select.value;
      fill(select, devices.filter((d) => d.kind === kind).map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`)));
    };
    fillSelect(cameraSelect, "videoinput");
    fillSelect(micSelect, "audioinput");
  }

  async function startCamera() {
    if (!navigator.mediaDevices) {
      mediaNote.textContent = "This page needs a secure context (https or localhost) to use the camera.";
      mediaNote.hidden = false;
      return null;
    }
    try {
      const next = await navigator.mediaDevices.getUserMedia({
        video: cameraSelect.value ? { deviceId: { exact: cameraSelect.value } } : { width: 1280, height: 720 },
        audio: micSelect.value ? { deviceId: { exact: micSelect.value } } : true,
      });
      if (publisher) {
        for (const sender of publisher.pc.getSenders()) {
          const track = next.getTracks().find((t) => sender.track && t.kind === sender.track.kind);
          if (track) await sender.replaceTrack(track);
        }
      }
      if (stream) stream.getTracks().forEach((t) => t.stop());
      stream = next;
      video.srcObject = stream;
      videoEmpty.hidden = true;
      await listDevices();
      return stream;
    } catch (error) {
      mediaNote.textContent = `Camera or microphone unavailable: ${error.message}. You can still stream from OBS.`;
      mediaNote.hidden = false;
      return null;
    }
  }

  async function startPublishing() {
    if (!stream && !(await startCamera())) return;
    mediaNote.hidden = true;
    try {
      publisher = await publish(stream, b.whip_url, b.stream_key);
      publisher.pc.addEventListener("connectionstatechange", () => {
        const state = publisher && publisher.pc.connectionState;
        if (state === "failed" || state === "disconnected") {
          mediaNote.className = "notice error";
          fill(mediaNote, "Video connection lost. ", h("button.small", { type: "button", onclick: republish }, "Reconnect video"));
          mediaNote.hidden = false;
        } else if (state === "connected") mediaNote.hidden = true;
      });
    } catch (error) {
      publisher = null;
      mediaNote.className = "notice error";
      fill(mediaNote, `Video could not start (${error.message}). Viewers see the shop but no video. `, h("button.small", { type: "button", onclick: republish }, "Retry video"));
      mediaNote.hidden = false;
    }
  }

  /** Back in the studio of a live broadcast: put the camera on air again unless OBS is publishing. */
  async function offerToPublish() {
    let state = "idle";
    try {
      state = (await api("GET", `/api/v1/media/${id}`)).state;
    } catch {
      /* unknown: offer the button anyway */
    }
    if (publisher) return;
    mediaNote.className = "notice";
    fill(mediaNote, state === "publishing" ? "Video is coming from another encoder (OBS). " : "You are live but your camera is not on air. ",
      h("button.small.primary", { type: "button", onclick: republish }, state === "publishing" ? "Use this camera instead" : "Put my camera on air"));
    mediaNote.hidden = false;
  }

  async function republish() {
    if (publisher) await publisher.stop();
    publisher = null;
    await startPublishing();
  }

  async function goLive() {
    liveButton.disabled = true;
    try {
      b = { ...b, ...(await api("POST", `/api/v1/broadcasts/${id}/start`, { token })) };
      renderStatus();
      toast("You are live!", "ok", 2000);
      await startPublishing();
    } catch (e) {
      toast(explain(e), "error");
    } finally {
      liveButton.disabled = false;
    }
  }

  async function endShow() {
    const sure = await modal("End the broadcast?", (close) => h("div.stack",
      h("p", "Running offers end now and unsold units go back to stock."),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, "End broadcast"), h("button", { type: "button", onclick: () => close(false) }, "Keep streaming"))));
    if (!sure) return;
    if (publisher) await publisher.stop();
    publisher = null;
    try {
      b = { ...b, ...(await api("POST", `/api/v1/broadcasts/${id}/end`, { token })) };
      await dash.refresh();
      await poll();
      renderStatus();
      shop.renderProducts();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  async function poll() {
    try {
      const snap = await api("GET", `/api/v1/broadcasts/${id}`, { token });
      applySnapshot(snap);
    } catch {
      /* next tick */
    }
  }

  function applySnapshot(snap) {
    const broadcast = snap.broadcast || snap;
    if (broadcast.status && broadcast.status !== b.status) {
      b = { ...b, ...broadcast };
      renderStatus();
    }
    if ("pins" in snap || "pinned" in snap) {
      const next = pinsOf(snap);
      if (next.map((p) => p.id).join() !== pins.map((p) => p.id).join()) setPins(next);
    }
    for (const o of snap.offers || []) shop.updateOffer(o);
    if (typeof snap.viewers === "number") dash.setViewers(snap.viewers);
    if (snap.recent_chat) {
      chat.add(snap.recent_chat);
      dash.chat(snap.recent_chat, false);
    }
  }

  room = joinRoom(id, token, {
    status(state, error) {
      roomJoined = state === "joined";
      chat.setEnabled(roomJoined, state === "unavailable" ? "Live room unavailable" : "Connecting to the live room…");
      if (state === "error") toast(explain(error), "error");
    },
    chat(messages) {
      const list = Array.isArray(messages) ? messages : [messages];
      chat.add(list);
      dash.chat(list);
    },
    chat_deleted(data) {
      for (const mid of [].concat(data.ids || data.message_ids || data.id || data.message_id || [])) chat.remove(mid);
    },
    pinned(data) {
      setPins(pinsOf(data));
    },
    coupon() {
      couponBox.refresh();
    },
    offer(data) {
      shop.updateOffer(data.offer || data);
    },
    viewers(data) {
      dash.setViewers(typeof data === "number" ? data : data.count ?? data.viewers ?? 0);
      if (data && typeof data.chat_rate === "number") dash.setChatRate(data.chat_rate * 60);
    },
    broadcast(data) {
      applySnapshot({ broadcast: data.broadcast || data });
    },
    snapshot(snap) {
      applySnapshot(snap);
      showSettings(snap.chat_settings);
    },
  });
  giveaway.attach(room);
  chat.setEnabled(false, "Connecting to the live room…");

  applySnapshot(b);
  renderStatus();
  await shop.loadProducts();
  pinBox.render();
  couponBox.refresh();
  dash.refresh();
  api("GET", `/api/v1/broadcasts/${id}/chat-settings`, { token }).then(showSettings).catch(() => {});
  if (b.status !== "ended") startCamera();
  if (b.status === "live") offerToPublish();

  let lastPoll = 0;
  timers.push(setInterval(() => {
    tickElapsed();
    shop.tick();
    const t = Date.now();
    if (t - lastPoll > (roomJoined ? 10_000 : 2_000)) {
      lastPoll = t;
      poll();
      dash.refresh();
    }
  }, 1000));
  dash.refresh().then(() => dash.sample());
  timers.push(setInterval(() => dash.sample(), 3000));
  timers.push(setInterval(() => couponBox.refresh(), 3000)); // uses left, live while codes run

  return () => {
    timers.forEach(clearInterval);
    giveaway.stop();
    if (room) room.close();
    if (publisher) publisher.stop();
    if (stream) stream.getTracks().forEach((t) => t.stop());
  };
}
