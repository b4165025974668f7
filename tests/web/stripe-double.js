// A test double of Stripe.js (https://js.stripe.com/v3), served by the browser test in its place: the
// page's Stripe adapter (web/app/js/pay/stripe.js) runs as in production, and this double confirms the
// PaymentIntent at the Stripe sandbox the way Stripe.js confirms at Stripe (publishable key +
// client_secret + the card). Not part of the product; never served by the node.
(() => {
  const sandbox = window.__stripeSandbox;
  window.Stripe = (publishableKey) => ({
    elements({ clientSecret }) {
      const inputs = [];
      return {
        clientSecret,
        inputs,
        create(kind) {
          if (kind !== "payment") throw new Error(`the double has no ${kind} element`);
          return {
            mount(slot) {
              const input = document.createElement("input");
              input.setAttribute("aria-label", "Stripe card number");
              input.autocomplete = "cc-number";
              slot.append(input);
              inputs.push(input);
            },
            destroy() {
              inputs.splice(0).forEach((i) => i.remove());
            },
          };
        },
      };
    },
    async confirmPayment({ elements, redirect }) {
      if (redirect !== "if_required") throw new Error("the page must not leave for a redirect");
      const id = elements.clientSecret.split("_secret_")[0];
      const form = new URLSearchParams({
        client_secret: elements.clientSecret,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": elements.inputs[0].value.replace(/\s+/g, ""),
      });
      const reply = await fetch(`${sandbox}/v1/payment_intents/${id}/confirm`, {
        method: "POST",
        headers: { Authorization: `Bearer ${publishableKey}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: form,
      });
      const body = await reply.json();
      if (body.error) return { error: { type: body.error.type, code: body.error.code, message: body.error.message } };
      return { paymentIntent: body };
    },
  });
})();
