// Toss Payments' widget (Korea). The widget redirects to successUrl with paymentKey, orderId and amount;
// the watch page then confirms it through POST /api/v1/orders/{id}/payment (see resume in buy.js).
import { loadScript } from "./load.js";
import { h } from "../dom.js";

export const TOSS_JS = "https://js.tosspayments.com/v2/standard";

export async function mount(container, { order, config, buyerId }) {
  const TossPayments = await loadScript(TOSS_JS, "TossPayments");
  const widgets = TossPayments(config.client_key).widgets({ customerKey: buyerId });
  await widgets.setAmount({ currency: order.currency, value: order.total });
  const slot = h("div#toss-methods", { "data-testid": "payment-element" });
  const terms = h("div#toss-agreement");
  container.append(slot, terms);
  await widgets.renderPaymentMethods({ selector: "#toss-methods" });
  await widgets.renderAgreement({ selector: "#toss-agreement" });
  return {
    async confirm() {
      const back = new URL(location.href);
      back.searchParams.set("pay", order.id);
      try {
        await widgets.requestPayment({
          orderId: order.id,
          orderName: order.items.map((i) => i.title).join(", ").slice(0, 100) || order.id,
          successUrl: back.toString(),
          failUrl: back.toString(),
          customerEmail: order.buyer && order.buyer.email,
          customerName: order.buyer && order.buyer.name,
        });
        return { status: "redirecting" };
      } catch (error) {
        return { status: "declined", message: error.message };
      }
    },
    destroy() {},
  };
}
