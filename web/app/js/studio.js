// The studio of one broadcast: camera preview, Go live / End over WHIP, OBS keys, catalog, offers,
// chat with moderation and the live dashboard. Real-time data comes from the room, else from polling.
import { api } from "./api.js";
import { h, fill, toast, modal } from "./dom.js";
import { clock, explain, now } from "./format.js";
import { t } from "./i18n.js";
import { joinRoom } from "./room.js";
import { publish } from "./media.js";
import { chatPanel } from "./chat.js";
import { catalogPanels } from "./catalog.js";
import { dashboard } from "./dashboard.js";
import { auctionsPanel } from "./auctions-console.js";
import { giveawayStudio } from "./giveaway.js";
import { pinnedSet, pinsOf } from "./pins.js";
import { couponsPanel } from "./coupons.js";

function copyRow(label, value, secret = false) {
  const code = h("code", { "aria-label": label }, secret ? "•".repeat(24) : value);
  let shown = !secret;
  return h("div.stack",
    h("div.muted.small", label),
    h("div.key-row", code, h("div.row",
      secret ? h("button.small.ghost", { type: "button", "aria-label": t("studio.show_what", { what: label }), onclick: (e) => {
        shown = !shown;
        code.textContent = shown ? value : "•".repeat(24);
        e.currentTarget.textContent = shown ? t("common.hide") : t("common.show");
      } }, t("common.show")) : null,
      h("button.small", { type: "button", "aria-label": t("studio.copy_what", { what: label }), onclick: async () => {
        try {
          await navigator.clipboard.writeText(value);
          toast(t("studio.copied", { what: label }), "ok", 1500);
        } catch {
          toast(t("common.copy_failed"), "error");
        }
      } }, t("common.copy")))));
}

// The camera and its WHIP session, kept while the studio re-renders in another language.
let onAir = null;

export async function studio(root, id, who, { navigate }) {
  const token = who.token;
  let b = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}`, { token });
  if (!b.stream_key) throw Object.assign(new Error(t("error.forbidden")), { code: "forbidden" });
  document.title = t("studio.page_title", { title: b.title });
  let pins = pinsOf(b); // the most recent pin first
  let stream = null;
  let publisher = null;
  if (onAir && onAir.id === id) ({ stream, publisher } = onAir);
  onAir = null;
  let room = null;
  let roomJoined = false;
  const timers = [];

  // header
  const badge = h("span.badge", { "data-testid": "status-badge" });
  const elapsed = h("span.muted", { "data-testid": "elapsed", "aria-label": t("studio.time_live") });
  const liveButton = h("button.primary", { type: "button", onclick: goLive }, t("studio.go_live"));
  const endButton = h("button.danger", { type: "button", onclick: endShow }, t("studio.end"));
  const mediaNote = h("p.notice", { role: "status", hidden: true });

  // camera
  const video = h("video", { autoplay: true, muted: true, playsInline: true, "aria-label": t("studio.camera_preview") });
  const videoEmpty = h("div.empty", t("studio.camera_off"));
  const cameraSelect = h("select", { "aria-label": t("studio.camera"), onchange: startCamera });
  const micSelect = h("select", { "aria-label": t("studio.microphone"), onchange: startCamera });
  const previewBox = h("div.preview", video, videoEmpty, h("div.overlay", h("span.badge", { "aria-hidden": "true" })));

  // chat
  const chat = chatPanel({
    label: t("studio.chat_label"),
    hostId: b.host_id,
    send: (text) => (room ? room.send("chat", { text }) : Promise.resolve({ error: { code: "network" } })),
    moderate: async (action, msg) => {
      const payload = { action, message_id: msg.id, user_id: msg.user.id };
      if (action === "timeout") payload.seconds = 300;
      if (action === "ban" && !(await modal(t("studio.ban_title", { name: msg.user.nickname }), (close) => h("div.stack", h("p", t("studio.ban_body")), h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, t("chat.ban")), h("button", { type: "button", onclick: () => close(false) }, t("common.cancel"))))))) return;
      const ack = room ? await room.send("moderate", payload) : { error: { code: "network" } };
      if (ack && ack.error) toast(explain(ack.error), "error");
      else {
        if (action === "delete") chat.remove(msg.id);
        toast(t(`studio.moderated.${action}`, { name: msg.user.nickname }), "ok", 2500);
      }
    },
  });
  const slow = h("select", { "aria-label": t("studio.slow_mode") }, [["0", t("studio.slow_off")], ["3", t("common.seconds_short", { count: 3 })], ["10", t("common.seconds_short", { count: 10 })], ["30", t("common.seconds_short", { count: 30 })], ["60", t("common.minutes_short", { count: 1 })]].map(([v, l]) => h("option", { value: v }, l)));
  const blocked = h("input", { type: "text", placeholder: t("studio.blocked_placeholder"), "aria-label": t("studio.blocked_words") });
  const settingsForm = h("form.stack", {
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { slow_mode_s: Number(slow.value), blocked_words: blocked.value.split(",").map((w) => w.trim()).filter(Boolean) };
      try {
        showSettings(await api("PUT", `/api/v1/broadcasts/${id}/chat-settings`, { token, body }));
        toast(t("studio.chat_settings_saved"), "ok", 2500);
      } catch (e) {
        toast(explain(e), "error");
      }
    },
  }, h("div.grid-2", h("div.field", h("label", { for: "slow-mode" }, t("studio.slow_mode")), Object.assign(slow, { id: "slow-mode" })), h("div.field", h("label", { for: "blocked-words" }, t("studio.blocked_words")), Object.assign(blocked, { id: "blocked-words" }))), h("button.small", { type: "submit" }, t("studio.save_chat_settings")));

  function showSettings(data) {
    if (!data) return;
    if (typeof data.slow_mode_s === "number") {
      const value = String(data.slow_mode_s);
      if (![...slow.options].some((o) => o.value === value)) slow.append(h("option", { value }, t("common.seconds_short", { count: data.slow_mode_s })));
      slow.value = value;
    }
    if (Array.isArray(data.blocked_words)) blocked.value = data.blocked_words.join(", ");
  }

  const dash = dashboard({ id, token });
  // "Large audience": every viewer plays HLS through the CDN (a few seconds behind) instead of WebRTC.
  const largeBox = h("input", { type: "checkbox", id: "large-audience", "data-testid": "large-audience" });
  const largeAudience = h("div.row", largeBox, h("label", { for: "large-audience" }, t("studio.large_audience")));
  api("GET", `/api/v1/media/${encodeURIComponent(id)}`).then((m) => { largeBox.checked = Boolean(m.large_audience); }).catch(() => {});
  largeBox.addEventListener("change", async () => {
    try {
      await api("PUT", `/api/v1/broadcasts/${encodeURIComponent(id)}/delivery`, { token, body: { large_audience: largeBox.checked } });
      toast(largeBox.checked ? t("studio.large_on") : t("studio.large_off"));
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
    currency: () => (b.shop && b.shop.currency) || "USD", // new products: the shop's default
    setPins(list) {
      setPins(list);
    },
    onOffer(o, before) {
      if (!before || before.sold !== o.sold) dash.refresh();
    },
  });

  const auctions = auctionsPanel({ id, token });
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
  const obs = h("details.panel", h("summary", h("b", t("studio.obs_title"))),
    h("div.stack", { style: { marginTop: ".7rem" } },
      h("p.muted.small", t("studio.obs_help")),
      copyRow(t("studio.whip_url"), b.whip_url), copyRow(t("studio.stream_key"), b.stream_key, true)));
  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row",
        h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, t("console.back_to_broadcasts")),
        h("h1", { style: { margin: 0 } }, b.title), badge, elapsed),
      h("div.row",
        h("a.button.small.ghost", { href: `/console/orders?broadcast_id=${encodeURIComponent(id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname + e.currentTarget.search); } }, t("console.nav.orders")),
        h("a.button.small.ghost", { href: b.watch_url, target: "_blank", rel: "noopener" }, t("studio.open_watch_page")), controls)),
    summaryBox,
    h("div.studio",
      h("div.col",
        h("section.panel.stack", { "aria-labelledby": "cam-h" },
          h("h2#cam-h", t("studio.camera")), previewBox,
          h("div.grid-2", h("div.field", h("label", { for: "cam" }, t("studio.camera")), Object.assign(cameraSelect, { id: "cam" })), h("div.field", h("label", { for: "mic" }, t("studio.microphone")), Object.assign(micSelect, { id: "mic" }))),
          mediaNote, largeAudience),
        obs,
        dash.panel),
      h("div.col", shop.offersPanel, pinBox.panel, couponBox.panel, giveaway.panel, auctions.panel, shop.catalogPanel),
      h("div.col.side",
        h("section.panel.stack", { "aria-labelledby": "chat-h" }, h("h2#chat-h", t("studio.live_chat")), chat.el),
        h("section.panel.stack", { "aria-labelledby": "mod-h" }, h("h2#mod-h", t("studio.chat_settings")), settingsForm))));

  function renderStatus() {
    const live = b.status === "live";
    for (const el of [badge, previewBox.querySelector(".overlay .badge")]) {
      el.className = `badge ${live ? "live" : b.status === "ended" ? "ended" : ""}`;
      el.textContent = live ? t("broadcast.status.live") : b.status === "ended" ? t("broadcast.status.ended") : t("studio.offline");
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
      fill(select, devices.filter((d) => d.kind === kind).map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || t(kind === "videoinput" ? "studio.camera_n" : "studio.microphone_n", { n: i + 1 }))));
    };
    fillSelect(cameraSelect, "videoinput");
    fillSelect(micSelect, "audioinput");
  }

  async function startCamera() {
    if (!navigator.mediaDevices) {
      mediaNote.textContent = t("studio.needs_secure_context");
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
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = next;
      video.srcObject = stream;
      videoEmpty.hidden = true;
      await listDevices();
      return stream;
    } catch (error) {
      mediaNote.textContent = t("studio.camera_unavailable", { reason: error.message });
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
          fill(mediaNote, t("studio.video_lost"), " ", h("button.small", { type: "button", onclick: republish }, t("studio.reconnect_video")));
          mediaNote.hidden = false;
        } else if (state === "connected") mediaNote.hidden = true;
      });
    } catch (error) {
      publisher = null;
      mediaNote.className = "notice error";
      fill(mediaNote, t("studio.video_failed", { reason: error.message }), " ", h("button.small", { type: "button", onclick: republish }, t("studio.retry_video")));
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
    fill(mediaNote, state === "publishing" ? t("studio.other_encoder") : t("studio.camera_not_on_air"), " ",
      h("button.small.primary", { type: "button", onclick: republish }, state === "publishing" ? t("studio.use_this_camera") : t("studio.put_camera_on_air")));
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
      toast(t("studio.you_are_live"), "ok", 2000);
      await startPublishing();
    } catch (e) {
      toast(explain(e), "error");
    } finally {
      liveButton.disabled = false;
    }
  }

  async function endShow() {
    const sure = await modal(t("studio.end_title"), (close) => h("div.stack",
      h("p", t("studio.end_body")),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, t("studio.end")), h("button", { type: "button", onclick: () => close(false) }, t("studio.keep_streaming")))));
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
      chat.setEnabled(roomJoined, state === "unavailable" ? t("chat.room_unavailable") : t("chat.connecting"));
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
  auctions.attach(room);
  giveaway.attach(room);
  chat.setEnabled(false, t("chat.connecting"));

  applySnapshot(b);
  renderStatus();
  await shop.loadProducts();
  auctions.load();
  pinBox.render();
  couponBox.refresh();
  dash.refresh();
  api("GET", `/api/v1/broadcasts/${id}/chat-settings`, { token }).then(showSettings).catch(() => {});
  if (stream) {
    video.srcObject = stream;
    videoEmpty.hidden = true;
    listDevices();
  } else if (b.status !== "ended") startCamera();
  if (b.status === "live") offerToPublish();

  let lastPoll = 0;
  timers.push(setInterval(() => {
    tickElapsed();
    shop.tick();
    auctions.tick();
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

  return ({ relabel = false } = {}) => {
    timers.forEach(clearInterval);
    giveaway.stop();
    if (room) room.close();
    if (relabel && (stream || publisher)) {
      onAir = { id, stream, publisher }; // the same studio comes back at once, in the new language
      return;
    }
    if (publisher) publisher.stop();
    if (stream) stream.getTracks().forEach((track) => track.stop());
  };
}
