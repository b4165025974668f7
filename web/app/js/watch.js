// The watch page: the video (WHEP), live badge and viewers, chat, the pinned product, flash offers, buying.
import { api, guestSession, session, product as getProduct, rememberProduct } from "./api.js";
import { h, fill, $, toast, modal, field, icon } from "./dom.js";
import { money, clock, secondsUntil, explain } from "./format.js";
import { t, languageSwitch, onLanguageChange, setShopLanguage } from "./i18n.js";
import { joinRoom } from "./room.js";
import { momentGate, hlsPlayable, playHls } from "./hls.js";
import { play } from "./media.js";
import { chatPanel } from "./chat.js";
import { buy, resumeRedirect } from "./buy.js";
import { auctionPanel } from "./auction.js";
import { attachCommentBuy } from "./comment-buy.js";
import { giveawayCard } from "./giveaway.js";
import { pinsCarousel, pinsOf } from "./pins.js";
import { couponBanner } from "./coupons.js";
import { installApp, isOffline, whenOnline } from "./pwa.js";

const id = decodeURIComponent(location.pathname.split("/").pop());
const app = $("#app");
let b = null;
let pins = []; // the pinned products, the most recent first
const offers = new Map();
let room = null;
let roomJoined = false;
let player = null;
const products = new Map();
const messages = new Map(); // offer id -> last error message shown next to its Buy button

const viewer = () => session.get("viewer");

// ---- the stage -------------------------------------------------------------------------------
const video = h("video", { autoplay: true, muted: true, playsInline: true, "aria-label": t("watch.video"), "data-testid": "video" });
const badge = h("span.badge", { "data-testid": "live-badge" });
const viewersEl = h("span.badge", { "data-testid": "viewers", "aria-label": t("watch.viewers") });
const titleEl = h("h1.title");
const stateBox = h("div.state", { role: "status" });
// The video starts muted (browsers only autoplay silent video): one clear button, and a tap on the picture, turn the sound on.
const SOUND = { off: () => t("watch.tap_to_unmute"), on: () => t("watch.mute") };
const sound = h("button.sound-button", { type: "button", dataset: { muted: "true", testid: "sound" }, onclick: toggleSound }, icon("muted"), SOUND.off());
const volume = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: 1, "aria-label": t("watch.volume"), style: { width: "90px" }, oninput: () => {
  video.volume = Number(volume.value);
  if (video.muted && video.volume > 0) toggleSound();
} });
const langSwitch = languageSwitch();
const stage = h("div.stage", video, h("div.top", badge, viewersEl, titleEl, langSwitch), stateBox, h("div.controls", volume, sound));
stage.addEventListener("click", (event) => {
  if (video.muted && !event.target.closest("button, input, a")) toggleSound(); // a tap on the picture
});
const bannerBox = h("div", { "aria-live": "polite", "data-testid": "offers" });
const carousel = pinsCarousel({ offerFor: (productId) => activeOfferFor(productId), buyControls: (...a) => buyControls(...a), refill: (...a) => refill(...a) });
const coupons = couponBanner();
const giveaway = giveawayCard({ broadcastId: id, me: () => viewer() && viewer().user, token: () => viewer() && viewer().token, ensureUser: () => ensureUser() });

// ---- layout slots ----------------------------------------------------------------------------
// Modules mount their parts into these named slots (css/watch.css places them): on a phone they lie
// over the full-screen video, the offers and the product card in thumb reach; on a desktop they are
// the column beside the video.
const slots = {
  offers: h("div.slot.slot-offers", { dataset: { slot: "offers" } }, coupons.el, bannerBox), // coupons, flash offers, auction controls
  product: h("div.slot.slot-product", { dataset: { slot: "product" } }, carousel.el, giveaway.el), // the pins carousel, the giveaway
  rail: h("div.slot.slot-rail", { dataset: { slot: "rail" }, role: "group", "aria-label": t("watch.show_actions") }), // round buttons: giveaway, share
};

function toggleSound() {
  video.muted = !video.muted;
  if (!video.muted && video.volume === 0) video.volume = volume.value = 0.8;
  sound.dataset.muted = String(video.muted);
  fill(sound, icon(video.muted ? "muted" : "sound"), video.muted ? SOUND.off() : SOUND.on());
  video.play().catch(() => {});
}

let videoState = null;
function setVideoState(state) {
  videoState = state;
  const show = (text, spinner = false, action = null) => {
    fill(stateBox, h("div", spinner ? h("div.spinner") : null, h("div", text), action));
    stateBox.hidden = false;
  };
  stage.dataset.state = state;
  if (state === "playing") stateBox.hidden = true;
  else if (state === "reconnecting") show(t("watch.reconnecting"), true);
  else if (state === "connecting") show(t("watch.connecting"), true);
  else if (state === "blocked") show("", false, h("button.primary", { type: "button", onclick: () => video.play().then(() => setVideoState("playing")) }, t("watch.play")));
  else if (state === "offline") show(t("watch.waiting_for_video"), true);
  else if (state === "scheduled") show(t("watch.starts_soon"));
  else if (state === "ended") show(t("watch.ended"));
}

// What the viewer sees combines our WHEP connection with the host side's media state
// (GET /api/v1/media/{id}: publishing | reconnecting | stopped | idle).
let playerState = "connecting";
let lastFrameAt = 0;
video.addEventListener("timeupdate", () => {
  lastFrameAt = Date.now();
});
let mediaState = "publishing";
function showVideoState() {
  if (!b || b.status !== "live") return;
  if (mediaState === "reconnecting") setVideoState("reconnecting");
  else if (mediaState === "stopped" || mediaState === "idle") setVideoState("offline");
  else setVideoState(playerState);
}

async function pollMedia() {
  if (!b || b.status !== "live") return;
  try {
    const reply = await api("GET", `/api/v1/media/${encodeURIComponent(id)}`);
    const before = mediaState;
    mediaState = reply.state;
    // the host is back: a fresh WHEP session picks the new source up at once
    const stalled = Date.now() - lastFrameAt > 2500;
    if (before !== "publishing" && mediaState === "publishing" && player && stalled) player.restart();
    // the host turned "large audience" on: everyone moves to HLS through the CDN
    if (reply.large_audience && player && stage.dataset.delivery !== "hls" && hlsPlayable(video)) startPlayer("hls");
    showVideoState();
  } catch {
    /* media state is a hint; the WHEP connection state still shows */
  }
}

// WebRTC (WHEP) by default; HLS through the CDN when asked (?delivery=hls), when the browser has no
// WebRTC, or when WHEP does not play within 8 s while the host is publishing.
const forceHls = new URLSearchParams(location.search).get("delivery") === "hls" || typeof RTCPeerConnection === "undefined";
const gate = momentGate(() => (player && player.latency ? player.latency() : 0));
let whepTimer = null;

function startPlayer(kind) {
  if (player) player.stop();
  if (whepTimer) clearTimeout(whepTimer);
  whepTimer = null;
  const onState = (state) => {
    playerState = state;
    showVideoState();
  };
  stage.dataset.delivery = kind;
  if (kind === "hls") {
    gate.inStep(true);
    player = playHls(video, `/hls/${encodeURIComponent(id)}/index.m3u8`, onState, (itemId) => gate.release(itemId));
    return;
  }
  gate.inStep(false);
  player = play(video, `/whep/${encodeURIComponent(id)}`, onState, viewer() && viewer().token, (pts) => gate.frame(pts));
  whepTimer = setTimeout(() => {
    whepTimer = null;
    if (playerState !== "playing" && mediaState === "publishing" && hlsPlayable(video)) startPlayer("hls");
  }, 8000);
}

function syncPlayer() {
  if (b.status === "live" && !player) {
    startPlayer(forceHls && hlsPlayable(video) ? "hls" : "webrtc");
  } else if (b.status !== "live" && player) {
    player.stop();
    player = null;
    if (whepTimer) clearTimeout(whepTimer);
    whepTimer = null;
  }
  if (b.status !== "live") setVideoState(b.status === "ended" ? "ended" : "scheduled");
}

function renderHead() {
  const live = b.status === "live";
  badge.className = `badge ${live ? "live" : b.status === "ended" ? "ended" : ""}`;
  badge.textContent = live ? t("watch.badge.live") : b.status === "ended" ? t("watch.badge.ended") : t("watch.badge.soon");
  titleEl.textContent = b.title;
  document.title = t(live ? "watch.page_title_live" : "watch.page_title_of", { title: b.title });
}

let viewerCount = 0;
function setViewers(n) {
  viewerCount = n;
  fill(viewersEl, icon("eye"), String(n));
  viewersEl.setAttribute("aria-label", t("watch.viewers_count", { count: n }));
}

// ---- guest session -------------------------------------------------------------------------
// The room needs a token even to watch: a quiet guest session ("auto") joins it at once, and the
// viewer picks a nickname the first time they chat or buy (a new guest session, then a rejoin).
async function watcherToken() {
  const v = viewer();
  if (v) return v.token;
  try {
    const guest = await guestSession(`guest-${Math.random().toString(36).slice(2, 6)}`);
    session.set("viewer", { ...guest, auto: true });
    return guest.token;
  } catch {
    return null;
  }
}

async function ensureUser() {
  const current = viewer();
  if (current && !current.auto) return true;
  const created = await modal(t("watch.nickname_title"), (close) => {
    const nick = h("input", { required: true, maxlength: 32, autocomplete: "nickname", placeholder: t("watch.nickname_placeholder") });
    const error = h("p.error-text", { role: "alert", hidden: true });
    const go = h("button.primary", { type: "submit" }, t("watch.continue"));
    setTimeout(() => nick.focus(), 0);
    return h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        go.disabled = true;
        try {
          close(await guestSession(nick.value.trim()));
        } catch (e) {
          error.textContent = explain(e);
          error.hidden = false;
          go.disabled = false;
        }
      },
    }, h("p.muted", t("watch.nickname_lead")), field(t("watch.nickname"), nick), error, go);
  });
  if (!created) return false;
  session.set("viewer", created);
  renderMe();
  await connectRoom(); // rejoin as the new identity so chat is ours
  return true;
}

function renderMe() {
  const v = viewer();
  fill($("#me"), v && !v.auto ? t("watch.watching_as", { name: v.user.nickname }) : "");
}

// ---- offers and the pinned product ---------------------------------------------------------
async function productOf(productId) {
  if (!products.has(productId)) products.set(productId, await getProduct(productId));
  return products.get(productId);
}

function activeOfferFor(productId) {
  return [...offers.values()].find((o) => o.product_id === productId && o.status === "active" && secondsUntil(o.ends_at) > 0);
}

async function onBuy(offer, quantity, button) {
  if (!(await ensureUser())) return;
  const p = await productOf(offer.product_id);
  button.disabled = true;
  messages.delete(offer.id);
  try {
    const order = await buy({ offer, product: p, quantity, token: viewer().token, buyerId: viewer().user.id });
    if (order) toast(t(order.status === "paid" ? "watch.order_paid" : "watch.order_confirmed", { id: order.id }), "ok", 5000);
  } catch (e) {
    if (e.status === 401) {
      session.clear("viewer");
      messages.set(offer.id, t("watch.session_expired"));
    } else {
      messages.set(offer.id, explain(e));
    }
    if (e.code === "sold_out") offers.set(offer.id, { ...offer, available: 0 });
    if (e.code === "offer_ended") offers.set(offer.id, { ...offer, status: "ended" });
  } finally {
    button.disabled = false;
    renderOffers();
    renderPinned();
  }
}

const chosenQty = new Map(); // offer id -> quantity the viewer picked (kept across re-renders)

function buyControls(o, label, where) {
  const soldOut = o.available <= 0;
  const max = Math.max(1, Math.min(o.per_buyer_limit, o.available));
  const qty = h("input", {
    type: "number", min: 1, max, value: Math.min(max, chosenQty.get(o.id) || 1), "aria-label": t("watch.quantity"),
    dataset: { key: `${where}-qty-${o.id}` },
    oninput: () => chosenQty.set(o.id, Number(qty.value) || 1),
  });
  const button = h("button.primary", {
    type: "button",
    "aria-label": soldOut ? t("watch.sold_out") : t("watch.buy_label", { label, price: money(o.price, o.currency) }),
    disabled: soldOut,
    dataset: { key: `${where}-buy-${o.id}` },
    onclick: (e) => onBuy(o, Math.min(max, Math.max(1, Number(qty.value) || 1)), e.currentTarget),
  }, soldOut ? t("watch.sold_out") : label);
  const error = messages.get(o.id);
  return [
    h("div.row", o.per_buyer_limit > 1 && !soldOut ? h("span.qty", qty) : null, button),
    error ? h("p.error-text.small", { role: "alert", "data-testid": "buy-error" }, error) : null,
  ];
}

/** Re-renders a box keeping keyboard focus on the same control (stock updates arrive every second). */
function refill(box, ...children) {
  const active = document.activeElement;
  const key = active && box.contains(active) ? active.dataset.key : null;
  fill(box, ...children);
  if (key) {
    const again = box.querySelector(`[data-key="${key}"]`);
    if (again && !again.disabled) again.focus({ preventScroll: true });
  }
}

async function renderOffers() {
  const shown = [...offers.values()]
    .filter((o) => o.status === "active" || (o.ended_at && secondsUntil(o.ended_at) > -15))
    .slice(0, 2);
  await Promise.all(shown.map((o) => productOf(o.product_id).catch(() => null)));
  refill(bannerBox, shown.map((o) => {
    const p = products.get(o.product_id) || { title: t("watch.flash_offer"), image_url: "", price: o.price };
    const ended = o.status !== "active" || secondsUntil(o.ends_at) <= 0;
    const soldOut = o.available <= 0;
    return h("section.offer-banner", { class: soldOut || ended ? "soldout" : "", "aria-label": t("watch.flash_offer_of", { title: p.title }), dataset: { offer: o.id, testid: "offer-banner", ...(o.media_pts !== undefined ? { mediaPts: String(o.media_pts) } : {}) } },
      h("img", { src: p.image_url || "", alt: "" }),
      h("div",
        h("div.flash", ended ? t("watch.offer_ended") : [icon("bolt"), " ", t("watch.flash_offer")]),
        h("div", h("b", p.title)),
        h("div", h("span.price", money(o.price, o.currency)), p.price > o.price ? h("span.was", money(p.price, o.currency)) : null),
        h("div.small",
          h("span.left", { "data-testid": "stock-left" }, soldOut ? t("watch.sold_out") : t("watch.left", { count: o.available })),
          o.held > 0 && soldOut ? h("span.muted", ` · ${t("watch.on_hold", { count: o.held })}`) : null,
          h("span.muted", ` · ${t("watch.limit_per_person", { count: o.per_buyer_limit })}`))),
      h("div.buy-box",
        ended ? h("span.muted", t("watch.badge.ended")) : h("span.countdown", { "data-countdown": o.ends_at, "data-testid": "countdown", "aria-label": t("watch.time_left") }, clock(secondsUntil(o.ends_at))),
        ended ? null : buyControls(o, t("watch.buy_now"), "banner")));
  }));
}

function renderPinned() {
  carousel.render(pins);
}

function updateOffer(o) {
  offers.set(o.id, o);
  renderOffers();
  renderPinned();
}

// ---- room and snapshot -----------------------------------------------------------------------
function applySnapshot(snap) {
  const broadcast = snap.broadcast || snap;
  if (broadcast && broadcast.status) {
    const changed = !b || b.status !== broadcast.status;
    b = { ...(b || {}), ...broadcast };
    renderHead();
    if (changed) syncPlayer();
  }
  if ("pins" in snap || "pinned" in snap) {
    pins = pinsOf(snap);
    pins.forEach(rememberProduct);
    renderPinned();
  }
  if (Array.isArray(snap.coupons)) coupons.update(snap);
  if (Array.isArray(snap.offers)) {
    for (const o of snap.offers) offers.set(o.id, o);
    renderOffers();
    renderPinned();
  }
  if (typeof snap.viewers === "number") setViewers(snap.viewers);
  if (Array.isArray(snap.recent_chat)) chat.add(snap.recent_chat);
}

const slowNote = h("p.muted.small.slow-note", { hidden: true, style: { margin: 0 } });
const chat = chatPanel({
  ensureUser,
  send: (text) => (room ? room.send("chat", { text }) : Promise.resolve({ error: { code: "network" } })),
});

let slowSeconds = 0;
let banned = false;
function applyMe(me, settings) {
  if (settings && typeof settings.slow_mode_s === "number") slowSeconds = settings.slow_mode_s;
  slowNote.textContent = slowSeconds > 0 ? t("watch.slow_mode", { seconds: slowSeconds }) : "";
  slowNote.hidden = !(slowSeconds > 0);
  if (me && me.banned) banned = true;
  if (banned) chat.setEnabled(false, t("watch.banned"));
}
let roomState = "connecting";
const chatWhy = () => (roomState === "unavailable" ? t("watch.chat_unavailable") : t("watch.chat_connecting"));

const auction = auctionPanel({
  broadcastId: id,
  me: viewer,
  ensureUser: () => ensureUser(),
  productOf,
  hold: (auctionId, fn, mediaPts) => gate.hold(auctionId, fn, mediaPts),
});

async function connectRoom() {
  if (room) room.close();
  roomJoined = false;
  const token = await watcherToken();
  let joined;
  const ready = new Promise((resolve) => {
    joined = resolve;
    setTimeout(resolve, 4000);
  });
  room = joinRoom(id, token, {
    status(state, error) {
      roomJoined = state === "joined";
      roomState = state;
      chat.setEnabled(roomJoined, chatWhy());
      if (roomJoined) joined();
      if ((state === "error" || state === "unavailable") && error && error.code === "invalid_token") {
        session.clear("viewer");
        connectRoom();
      }
    },
    snapshot(snap) {
      chat.clear();
      applySnapshot(snap);
      applyMe(snap.me, snap.chat_settings);
    },
    chat: (list) => chat.add(Array.isArray(list) ? list : [list]),
    chat_deleted(data) {
      for (const mid of [].concat(data.ids || data.message_ids || data.id || data.message_id || [])) chat.remove(mid);
    },
    chat_settings: (data) => applyMe(null, data),
    pinned(data) {
      const list = pinsOf(data);
      const added = data && data.change ? data.change.action === "pin" && data.change.product_id : list[0] && list[0].id;
      gate.hold(added || null, () => applySnapshot({ pins: list }), data && data.media_pts);
    },
    coupon: (data) => coupons.update(data),
    offer(data) {
      const offer = data.offer || data;
      gate.hold(offer.id, () => updateOffer(offer), offer.media_pts);
    },
    viewers: (data) => setViewers(typeof data === "number" ? data : data.count ?? data.viewers ?? 0),
    broadcast: (data) => applySnapshot({ broadcast: data.broadcast || data }),
    error: (data) => data && toast(explain(data.error || data), "error"),
  });
  auction.attach(room);
  attachCommentBuy(room, { me: viewer, productOf });
  giveaway.attach(room);
  chat.setEnabled(false, t("watch.chat_connecting"));
  return ready;
}

async function poll() {
  try {
    applySnapshot(await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}`));
  } catch {
    /* the next tick retries */
  }
}

/** Back from a provider's payment page (Toss redirects): confirm it and say how it went. */
async function resumePayment() {
  try {
    const order = await resumeRedirect(viewer() && viewer().token);
    if (!order) return;
    if (order.status === "paid") toast(t("watch.order_paid", { id: order.id }), "ok", 6000);
    else toast(order.message || t("watch.order_status", { id: order.id, status: order.status }), order.status === "declined" ? "error" : "info", 6000);
  } catch (e) {
    toast(explain(e), "error", 6000);
  }
}

async function main() {
  try {
    b = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(id)}`);
  } catch (e) {
    const offline = isOffline(e);
    // offline: the shell opened from the service worker; the show loads once the network is back
    if (offline) whenOnline(() => location.reload());
    fill(app, h("section.panel.load-error", { "data-testid": "load-error" },
      h("h1", offline ? t("watch.offline_title") : t("watch.not_found")),
      h("p.muted", offline ? t("watch.offline_body") : explain(e)),
      offline ? h("button.primary", { type: "button", onclick: () => location.reload() }, t("buy.try_again")) : null));
    return;
  }
  slots.offers.append(auction.el); // the auction panel sits with the offers
  fill(app,
    h("div.main-col", stage, slots.offers),
    h("div.side-col", slots.product, slots.rail,
      h("section.panel.stack.chat-panel", { "aria-labelledby": "chat-h", dataset: { slot: "chat" } }, chatHeading, slowNote, chat.el)));
  const snapshot = b;
  if (snapshot.shop) setShopLanguage(snapshot.shop.language); // when the browser asked for none of ours
  b = null;
  applySnapshot(snapshot);
  renderMe();
  connectRoom();
  auction.load();
  giveaway.refresh();
  resumePayment();
  let last = Date.now();
  let ticks = 0;
  pollMedia();
  setInterval(() => {
    for (const el of bannerBox.querySelectorAll("[data-countdown]")) {
      const left = secondsUntil(el.dataset.countdown);
      el.textContent = clock(left);
      if (left <= 0) renderOffers();
    }
    auction.tick();
    coupons.tick();
    if (++ticks % 3 === 0) pollMedia();
    if (Date.now() - last > (roomJoined ? 15_000 : 2_000)) {
      last = Date.now();
      poll();
    }
  }, 1000);
}

const chatHeading = h("h2#chat-h", t("watch.live_chat"));

/** After a switch of language: every label again; the video, the chat log and the room stay as they are. */
function relabel() {
  video.setAttribute("aria-label", t("watch.video"));
  volume.setAttribute("aria-label", t("watch.volume"));
  slots.rail.setAttribute("aria-label", t("watch.show_actions"));
  fill(sound, icon(video.muted ? "muted" : "sound"), video.muted ? SOUND.off() : SOUND.on());
  chatHeading.textContent = t("watch.live_chat");
  chat.relabel(t("chat.message"), roomJoined || banned ? "" : chatWhy());
  applyMe(null, null);
  setViewers(viewerCount);
  renderMe();
  if (b) renderHead();
  if (videoState) setVideoState(videoState);
  renderOffers();
  renderPinned();
  coupons.render();
  giveaway.refresh();
  auction.render();
}
onLanguageChange(relabel);

installApp({ start: location.pathname });
main();
