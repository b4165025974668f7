// Buying without leaving the stream: reserve -> checkout sheet with the hold's countdown -> order number.
import { api, newKey, session } from "./api.js";
import { h, fill, modal, field, icon } from "./dom.js";
import { money, clock, secondsUntil, explain } from "./format.js";

/**
 * Reserves `quantity` of an offer, then runs the checkout sheet. Resolves with the order, or null.
 * Reservation errors are thrown as ApiError for the caller to show next to its Buy button.
 */
export async function buy({ offer, product, quantity, token }) {
  const reservation = await api("POST", `/api/v1/offers/${offer.id}/reservations`, { token, body: { quantity }, idempotencyKey: newKey() });
  return checkout({ offer, product, reservation, token });
}

function checkout({ offer, product, reservation, token }) {
  let timer = null;
  let done = false;
  const orderKey = newKey();
  const remembered = session.get("buyer") || {};
  return modal("Checkout", (close) => {
    const body = h("div.checkout.stack");
    const finish = (value) => {
      clearInterval(timer);
      close(value);
    };

    const releaseAndClose = async () => {
      clearInterval(timer);
      if (!done) await api("DELETE", `/api/v1/reservations/${reservation.id}`, { token }).catch(() => {});
      close(null);
    };

    function form() {
      const name = h("input", { name: "name", autocomplete: "name", required: true, maxlength: 200, value: remembered.name || "" });
      const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, value: remembered.email || "" });
      const address = h("textarea", { name: "address", autocomplete: "street-address", required: true, maxlength: 1000, rows: 3 }, remembered.address || "");
      const hold = h("span.hold", { "data-testid": "hold-countdown" }, clock(secondsUntil(reservation.expires_at)));
      const error = h("p.notice.error", { role: "alert", hidden: true });
      const pay = h("button.primary", { type: "submit" }, `Place order · ${money(offer.price * reservation.quantity, offer.currency)}`);
      const expired = () => {
        clearInterval(timer);
        fill(body,
          h("p.notice.error", { role: "alert" }, explain({ code: "reservation_expired" })),
          h("div.row", h("button.primary", { type: "button", onclick: retry }, "Try again"), h("button", { type: "button", onclick: () => finish(null) }, "Close")));
      };
      timer = setInterval(() => {
        const left = secondsUntil(reservation.expires_at);
        hold.textContent = clock(left);
        if (left <= 0) expired();
      }, 500);
      fill(body,
        h("div.row",
          h("img", { src: product.image_url || "", alt: "", width: 56, height: 56, style: { borderRadius: "10px" } }),
          h("div.grow", h("b", product.title), h("div.muted.small", `${reservation.quantity} × ${money(offer.price, offer.currency)}`))),
        h("p.notice", { "aria-live": "off" }, "Held for you for ", hold, ". Complete your order before it runs out."),
        h("form.stack", {
          onsubmit: async (event) => {
            event.preventDefault();
            pay.disabled = true;
            error.hidden = true;
            const buyer = { name: name.value.trim(), email: email.value.trim(), address: address.value.trim() };
            try {
              const order = await api("POST", "/api/v1/orders", { token, body: { reservation_id: reservation.id, buyer }, idempotencyKey: orderKey });
              done = true;
              session.set("buyer", buyer);
              clearInterval(timer);
              confirmation(order);
            } catch (e) {
              if (e.code === "reservation_expired") return expired();
              error.textContent = explain(e);
              error.hidden = false;
              pay.disabled = false;
            }
          },
        }, field("Full name", name), field("Email", email), field("Shipping address", address), error, pay,
        h("button.ghost", { type: "button", onclick: releaseAndClose }, "Cancel and release")));
      name.focus();
    }

    async function retry() {
      try {
        reservation = await api("POST", `/api/v1/offers/${offer.id}/reservations`, { token, body: { quantity: reservation.quantity }, idempotencyKey: newKey() });
        form();
      } catch (e) {
        fill(body, h("p.notice.error", { role: "alert" }, explain(e)), h("button", { type: "button", onclick: () => finish(null) }, "Close"));
      }
    }

    function confirmation(order) {
      fill(body, h("div.confirm.stack", { "data-testid": "confirmation" },
        h("div.big", { "aria-hidden": "true" }, icon("check")),
        h("h2", "Order confirmed"),
        h("p", "Order number ", h("span.order-no", { "data-testid": "order-number" }, order.id)),
        h("p.muted", `${order.items.map((i) => `${i.quantity} × ${i.title || product.title}`).join(", ")} · ${money(order.total, order.currency)}`),
        h("p.muted.small", `A receipt goes to ${order.buyer && order.buyer.email ? order.buyer.email : "your email"}.`),
        h("button.primary", { type: "button", onclick: () => finish(order) }, "Back to the show")));
    }

    form();
    return body;
  }).then((value) => {
    clearInterval(timer);
    if (value === undefined && !done) api("DELETE", `/api/v1/reservations/${reservation.id}`, { token }).catch(() => {});
    return value || null;
  });
}
