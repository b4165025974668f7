// Stripe's Payment Element (cards, wallets, BLIK, Przelewy24 ... as the shop enables them). Stripe.js
// handles 3-D Secure itself; we only see the outcome.
import { loadScript } from "./load.js";
import { h } from "../dom.js";

export const STRIPE_JS = "https://js.stripe.com/v3";

export async function mount(container, { payment, config }) {
  const Stripe = await loadScript(STRIPE_JS, "Stripe");
  const stripe = Stripe(config.publishable_key);
  const elements = stripe.elements({ clientSecret: payment.client_secret, appearance: { theme: "night" } });
  const slot = h("div.payment-element", { "data-testid": "payment-element" });
  container.append(slot);
  const element = elements.create("payment", { layout: "tabs" });
  element.mount(slot);
  return {
    async confirm() {
      const { error, paymentIntent } = await stripe.confirmPayment({
        elements,
        redirect: "if_required",
        confirmParams: { return_url: location.href },
      });
      if (error) {
        if (error.type === "card_error" || error.type === "validation_error") return { status: "declined", message: error.message };
        return { status: "error", message: error.message };
      }
      return { status: paymentIntent.status === "succeeded" ? "succeeded" : paymentIntent.status };
    },
    destroy() {
      element.destroy();
    },
  };
}
