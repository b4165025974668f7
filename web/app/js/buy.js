// Buying without leaving the stream: reserve -> checkout sheet with the hold's countdown -> payment
// (Stripe's Payment Element, Toss's widget, or the sandbox's test-card form) -> paid.
import { api, newKey, session } from "./api.js";
import { h, fill, modal, field, icon } from "./dom.js";
import { money, clock, secondsUntil, explain } from "./format.js";
import { t, tn } from "./i18n.js";
import { discountFor, knownCoupons } from "./coupons.js";

const SETTLED = ["paid", "fulfilled", "confirmed"];
const UNDONE = ["refunded", "canceled", "cancelled"];
const POLL_MS = 1000;

let configPromise = null;
/** How this shop takes money: {provider: "stripe"|"toss"|null, test_mode, publishable_key?, client_key?}. */
export function paymentConfig() {
  if (!configPromise) {
    configPromise = api("GET", "/api/v1/payments/config").catch(() => {
      configPromise = null;
      return { provider: null };
    });
  }
  return configPromise;
}

/** The payment form for an order: the provider's own script in production, the test card on a sandbox. */
async function paymentForm(container, { order, token, buyerId }) {
  const payment = order.payment;
  const config = { ...(await paymentConfig()), ...payment };
  // Without the provider's browser key its script cannot run: the node is on a sandbox.
  const browserKey = payment.provider === "stripe" ? config.publishable_key : config.client_key;
  let adapter;
  if (config.test_mode || !browserKey) adapter = await import("./pay/testcard.js");
  else if (payment.provider === "stripe") adapter = await import("./pay/stripe.js");
  else if (payment.provider === "toss") adapter = await import("./pay/toss.js");
  else throw new Error(`unknown payment provider ${payment.provider}`);
  return adapter.mount(container, { order, payment, config, token, buyerId });
}

/** When the order's units stop being held unless it is paid (ISO, or epoch ms / s). */
function deadlineOf(order, reservation) {
  const d = order && order.payment && (order.payment.deadline || order.payment.expires_at);
  if (typeof d === "number") return new Date(d > 1e12 ? d : d * 1000).toISOString();
  return d || (order && order.expires_at) || reservation.expires_at;
}

/**
 * Reserves `quantity` of an offer, then runs the checkout sheet. Resolves with the order, or null.
 * Reservation errors are thrown as ApiError for the caller to show next to its Buy button.
 */
export async function buy({ offer, product, quantity, token, buyerId }) {
  const reservation = await api("POST", `/api/v1/offers/${offer.id}/reservations`, { token, body: { quantity }, idempotencyKey: newKey() });
  return checkout({ offer, product, reservation, token, buyerId });
}

/**
 * The checkout sheet for a hold the viewer already has (an auction won, a chat keyword's claim):
 * `reservation` as the API shows a hold ({id, offer_id, quantity, expires_at}).
 */
export async function checkoutHold({ reservation, productOf, token, buyerId }) {
  const offer = await api("GET", `/api/v1/offers/${encodeURIComponent(reservation.offer_id)}`);
  return checkout({ offer, product: await productOf(offer.product_id), reservation, token, buyerId });
}

function checkout({ offer, product, reservation, token, buyerId }) {
  let timer = null;
  let done = false; // an order exists: closing the sheet must not release the hold
  let stopPoll = false;
  let payer = null;
  let orderKey = newKey();
  const remembered = session.get("buyer") || {};
  const config = paymentConfig();
  return modal(t("buy.checkout"), (close) => {
    const body = h("div.checkout.stack", { "data-testid": "checkout" });
    const finish = (value) => {
      stopPoll = true;
      clearInterval(timer);
      if (payer) payer.destroy();
      close(value);
    };

    const releaseAndClose = async () => {
      clearInterval(timer);
      if (!done) await api("DELETE", `/api/v1/reservations/${reservation.id}`, { token }).catch(() => {});
      finish(null);
    };

    /** The hold's countdown: `until` may move (the payment deadline extends it). */
    function countdown(until, onExpired) {
      const el = h("span.hold", { "data-testid": "hold-countdown" }, clock(secondsUntil(until())));
      clearInterval(timer);
      timer = setInterval(() => {
        const left = secondsUntil(until());
        el.textContent = clock(left);
        if (left <= 0) onExpired();
      }, 500);
      return el;
    }

    function productLine(quantity) {
      return h("div.row",
        h("img.thumb", { src: product.image_url || "", alt: "", width: 56, height: 56 }),
        h("div.grow", h("b", product.title), h("div.muted.small", `${quantity} × ${money(offer.price, offer.currency)}`)));
    }

    const expired = () => {
      clearInterval(timer);
      if (payer) payer.destroy();
      payer = null;
      fill(body,
        h("p.notice.error", { role: "alert", "data-testid": "pay-expired" }, explain({ code: "reservation_expired" })),
        h("div.row", h("button.primary", { type: "button", onclick: retry }, t("buy.try_again")), h("button", { type: "button", onclick: () => finish(null) }, t("common.close"))));
    };

    async function form() {
      const online = (await config).provider;
      const name = h("input", { name: "name", autocomplete: "name", required: true, maxlength: 200, value: remembered.name || "" });
      const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, value: remembered.email || "" });
      const address = h("textarea", { name: "address", autocomplete: "street-address", required: true, maxlength: 1000, rows: 3 }, remembered.address || "");
      const hold = countdown(() => reservation.expires_at, expired);
      const error = h("p.notice.error", { role: "alert", hidden: true });
      const subtotal = offer.price * reservation.quantity;
      const place = h("button.primary", { type: "submit" });
      const offered = knownCoupons()[0];
      const coupon = h("input", { name: "coupon", maxlength: 32, autocomplete: "off", autocapitalize: "characters", placeholder: offered ? offered.code : "", "data-testid": "coupon-input" });
      const saving = h("p.small.coupon-saving", { "aria-live": "polite", "data-testid": "coupon-saving" });
      const priced = () => {
        const off = coupon.value.trim() ? discountFor(coupon.value, subtotal, offer.currency) : null;
        const total = money(subtotal - (off || 0), offer.currency);
        saving.textContent = off ? t("buy.coupon_saving", { off: money(off, offer.currency), total }) : coupon.value.trim() ? t("buy.coupon_at_order") : "";
        place.textContent = online ? t("buy.continue_to_payment", { total }) : t("buy.place_order", { total });
      };
      coupon.addEventListener("input", priced);
      priced();
      fill(body,
        productLine(reservation.quantity),
        h("p.notice", { "aria-live": "off" }, tn("buy.held_for", { time: hold })),
        h("form.stack", {
          onsubmit: async (event) => {
            event.preventDefault();
            place.disabled = true;
            error.hidden = true;
            const buyer = { name: name.value.trim(), email: email.value.trim(), address: address.value.trim() };
            try {
              const code = coupon.value.trim();
              const order = await api("POST", "/api/v1/orders", { token, body: { reservation_id: reservation.id, buyer, ...(code ? { coupon: code } : {}) }, idempotencyKey: code ? `${orderKey}-${code.toUpperCase()}` : orderKey });
              done = true;
              session.set("buyer", buyer);
              clearInterval(timer);
              if (order.payment && !SETTLED.includes(order.status)) await pay(order);
              else confirmation(order);
            } catch (e) {
              if (e.code === "reservation_expired") return expired();
              if (String(e.code || "").startsWith("coupon_")) coupon.focus(); // the hold stays: fix or clear the code
              error.textContent = explain(e);
              error.hidden = false;
              place.disabled = false;
            }
          },
        }, field(t("buy.full_name"), name), field(t("buy.email"), email), field(t("buy.address"), address), field(t("buy.coupon_code"), coupon), saving, error, place,
        h("button.ghost", { type: "button", onclick: releaseAndClose }, t("buy.cancel_release"))));
      name.focus();
    }

    async function retry() {
      try {
        reservation = await api("POST", `/api/v1/offers/${offer.id}/reservations`, { token, body: { quantity: reservation.quantity }, idempotencyKey: newKey() });
        orderKey = newKey(); // a new hold is a new order
        done = false;
        await form();
      } catch (e) {
        fill(body, h("p.notice.error", { role: "alert" }, explain(e)), h("button", { type: "button", onclick: () => finish(null) }, t("common.close")));
      }
    }

    // ---- paying ----------------------------------------------------------------------------
    async function pay(order) {
      let current = order;
      const state = h("div.pay-state", { role: "status", "aria-live": "polite", "data-testid": "pay-state", dataset: { state: "ready" } });
      const slot = h("div.pay-box");
      const error = h("p.notice.error", { role: "alert", hidden: true, "data-testid": "pay-error" });
      const challengeBox = h("div", { hidden: true });
      const payButton = h("button.primary", { type: "button", "data-testid": "pay-button" }, t("buy.pay", { amount: money(order.total, order.currency) }));
      const hold = countdown(() => deadlineOf(current, reservation), () => paymentExpired(current));
      fill(body,
        productLine(order.items.reduce((n, i) => n + i.quantity, 0)),
        order.discount ? h("p.small", { "data-testid": "order-discount" }, t("buy.coupon_line", { code: order.coupon, off: money(order.discount, order.currency) })) : null,
        h("p.notice", { "aria-live": "off" }, tn("buy.held_while_paying", { time: hold })),
        slot, challengeBox, error, state, payButton);
      const setState = (name, text, spinner = false) => {
        state.dataset.state = name;
        fill(state, spinner ? h("div.spinner") : null, text || "");
      };
      setState("ready", "");
      try {
        payer = await paymentForm(slot, { order, token, buyerId });
      } catch (e) {
        setState("error", "");
        error.textContent = t("buy.form_failed", { reason: e.message });
        error.hidden = false;
        payButton.textContent = t("buy.retry");
        payButton.onclick = () => pay(current);
        return;
      }

      const outcome = async (result) => {
        if (result.status === "succeeded" || result.status === "processing" || result.status === "paid") {
          payButton.hidden = true;
          setState("confirming", t("buy.accepted_confirming"), true);
          return awaitPaid(order, (o) => {
            current = o;
          });
        }
        if (result.status === "requires_action") return challenge(result);
        if (result.status === "redirecting") return setState("paying", t("buy.opening_payment_page"), true);
        // declined (or failed): the order and its hold stay; the buyer tries another card
        setState("declined", "");
        error.textContent = t("buy.declined_retry", { reason: result.message || t("error.card_declined") });
        error.hidden = false;
        payButton.disabled = false;
        payButton.textContent = t("buy.pay", { amount: money(order.total, order.currency) });
      };

      async function challenge(result) {
        setState("challenge", t("buy.bank_confirm"));
        payButton.hidden = true;
        const answer = async (what) => {
          for (const b of challengeBox.querySelectorAll("button")) b.disabled = true;
          setState("paying", t("buy.checking_bank"), true);
          try {
            const next = await payer.challenge(what);
            challengeBox.hidden = true;
            payButton.hidden = false;
            await outcome(next);
          } catch (e) {
            for (const b of challengeBox.querySelectorAll("button")) b.disabled = false;
            setState("challenge", explain(e));
          }
        };
        fill(challengeBox, h("div.challenge.stack", { "data-testid": "challenge" },
          h("b", "3-D Secure"),
          h("p.small", result.message || t("buy.confirm_to", { amount: money(order.total, order.currency), shop: document.title.split(" · ").slice(-2, -1)[0] || "liveshop" })),
          h("div.row",
            h("button.primary", { type: "button", onclick: () => answer("approve") }, t("buy.complete_auth")),
            h("button", { type: "button", onclick: () => answer("fail") }, t("buy.fail_auth")))));
        challengeBox.hidden = false;
      }

      payButton.onclick = async () => {
        payButton.disabled = true;
        error.hidden = true;
        setState("paying", t("buy.paying"), true);
        let result;
        try {
          result = await payer.confirm();
        } catch (e) {
          result = e.code === "payment_unavailable" || e.status >= 500 || e.status === 0
            ? { status: "error", message: `${explain(e)}` }
            : { status: "declined", message: explain(e) };
          if (e.code === "reservation_expired") return paymentExpired(current);
        }
        await outcome(result);
      };
    }

    /** Polls the order until the provider's word reaches liveshop (webhook or reconciliation). */
    async function awaitPaid(order, seen) {
      stopPoll = false;
      const started = Date.now();
      let told = false;
      while (!stopPoll) {
        if (!told && Date.now() - started > 8000) {
          told = true; // the provider's webhook is late: reconciliation asks it within a minute or two
          const state = body.querySelector('[data-testid="pay-state"]');
          if (state) state.append(h("div.muted.small", t("buy.webhook_late")));
        }
        try {
          const o = await api("GET", `/api/v1/orders/${encodeURIComponent(order.id)}`, { token });
          seen(o);
          if (SETTLED.includes(o.status)) return confirmation(o);
          if (UNDONE.includes(o.status)) return undone(o);
        } catch {
          /* keep asking */
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      return null;
    }

    function paymentExpired(order) {
      clearInterval(timer);
      if (payer) payer.destroy();
      payer = null;
      fill(body,
        h("p.notice.error", { role: "alert", "data-testid": "pay-expired" }, t("buy.payment_time_ran_out")),
        h("p.muted.small", t("buy.order"), " ", h("code", order.id)),
        h("div.row", h("button.primary", { type: "button", onclick: () => { done = false; retry(); } }, t("buy.try_again")), h("button", { type: "button", onclick: () => finish(null) }, t("common.close"))));
    }

    function undone(order) {
      clearInterval(timer);
      fill(body, h("div.stack", { "data-testid": "order-undone" },
        h("h2", order.status === "refunded" ? t("buy.refunded_title") : t("buy.canceled_title")),
        h("p", order.notice || (order.status === "refunded" ? t("buy.refunded_body") : t("buy.canceled_body"))),
        h("p.muted.small", t("buy.order"), " ", h("code", order.id)),
        h("button.primary", { type: "button", onclick: () => finish(null) }, t("buy.back_to_show"))));
    }

    function confirmation(order) {
      clearInterval(timer);
      if (payer) payer.destroy();
      payer = null;
      const paid = order.status === "paid" || order.status === "fulfilled";
      fill(body, h("div.confirm.stack", { "data-testid": "confirmation", dataset: { status: order.status } },
        h("div.big", { "aria-hidden": "true" }, icon("check")),
        h("h2", paid ? t("buy.paid_confirmed") : t("buy.confirmed")),
        h("p", t("buy.order_number"), " ", h("span.order-no", { "data-testid": "order-number" }, order.id)),
        h("p.muted", `${order.items.map((i) => `${i.quantity} × ${i.title || product.title}`).join(", ")} · `, h("span", { "data-testid": "order-total" }, money(order.total, order.currency))),
        order.discount ? h("p.small", { "data-testid": "order-discount" }, t("buy.coupon_line_was", { code: order.coupon, off: money(order.discount, order.currency), was: money(order.subtotal, order.currency) })) : null,
        h("p.muted.small", t("buy.receipt_to", { email: order.buyer && order.buyer.email ? order.buyer.email : t("buy.your_email") })),
        h("button.primary", { type: "button", onclick: () => finish(order) }, t("buy.back_to_show"))));
    }

    form();
    return body;
  }).then((value) => {
    stopPoll = true;
    clearInterval(timer);
    if (payer) payer.destroy();
    if (value === undefined && !done) api("DELETE", `/api/v1/reservations/${reservation.id}`, { token }).catch(() => {});
    return value || null;
  });
}

/**
 * Back from Toss's payment page (?pay=<order>&paymentKey=...&amount=...): confirm the payment and say
 * how it went. Returns the order, or null when the page was not opened by such a redirect.
 */
export async function resumeRedirect(token) {
  const params = new URLSearchParams(location.search);
  const orderId = params.get("pay");
  if (!orderId || !token) return null;
  const clean = new URL(location.href);
  for (const k of ["pay", "paymentKey", "orderId", "amount", "paymentType", "code", "message"]) clean.searchParams.delete(k);
  history.replaceState({}, "", clean.toString());
  if (!params.get("paymentKey")) return { id: orderId, status: "declined", message: params.get("message") || t("buy.not_completed") };
  return api("POST", `/api/v1/orders/${encodeURIComponent(orderId)}/payment`, { token, body: { payment_key: params.get("paymentKey") } });
}
