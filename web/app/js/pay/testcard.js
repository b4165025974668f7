// The sandbox's stand-in for the provider's script: a plain card form served by the node. The node
// confirms the order's payment at the sandbox with the test card; 3-D Secure cards get a challenge step.
import { api } from "../api.js";
import { h, field } from "../dom.js";
import { t } from "../i18n.js";

export const TEST_CARDS = [
  ["4242 4242 4242 4242", "pays"],
  ["4000 0000 0000 0002", "is declined"],
  ["4000 0000 0000 9995", "has insufficient funds (Stripe)"],
  ["4000 0027 6000 3184", "asks for 3-D Secure (Stripe)"],
];

export async function mount(container, { order, token }) {
  const number = h("input", { name: "cardnumber", inputmode: "numeric", autocomplete: "cc-number", placeholder: "4242 4242 4242 4242", maxlength: 23, required: true });
  const expiry = h("input", { name: "exp", autocomplete: "cc-exp", placeholder: "MM / YY", maxlength: 7, required: true, value: "12 / 34" });
  const cvc = h("input", { name: "cvc", inputmode: "numeric", autocomplete: "cc-csc", placeholder: "123", maxlength: 4, required: true, value: "123" });
  container.append(h("div.stack.test-card", { "data-testid": "payment-element" },
    h("div.row.spread", h("b", t("pay.card")), h("span.sandbox-tag", t("pay.test_mode"))),
    field(t("pay.card_number"), number),
    h("div.grid-3", field(t("pay.expiry"), expiry), field(t("pay.cvc"), cvc)),
    h("details.test-cards", h("summary", t("pay.test_cards")),
      h("ul", TEST_CARDS.map(([n, what]) => h("li", h("code", n), ` ${what}`))))));
  number.focus();
  const path = `/api/v1/orders/${encodeURIComponent(order.id)}/test-payment`;
  return {
    async confirm() {
      const result = await api("POST", path, { token, body: { card_number: number.value.replace(/\s+/g, ""), expiry: expiry.value, cvc: cvc.value } });
      if (result.status !== "authorized") return result;
      // Toss: the widget's paymentKey is confirmed by the node, as after Toss's redirect
      const paid = await api("POST", `/api/v1/orders/${encodeURIComponent(order.id)}/payment`, { token, body: { payment_key: result.payment_key } });
      return { status: paid.status === "paid" ? "paid" : paid.status, order: paid };
    },
    /** The 3-D Secure step: the buyer approves (or fails) the bank's challenge. */
    async challenge(outcome) {
      return api("POST", `${path}/challenge`, { token, body: { outcome } });
    },
    destroy() {},
  };
}
