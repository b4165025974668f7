// Comment-to-buy on the watch page: a buy keyword in chat claims the pinned offer on the server; the
// sender alone receives `reservation` (the hold), and the checkout sheet opens with it.
import { toast } from "./dom.js";
import { explain } from "./format.js";
import { checkoutHold } from "./buy.js";
import { t } from "./i18n.js";

/** Listens on a room connection for this viewer's keyword claims ({me: () => viewer, productOf}). */
export function attachCommentBuy(room, { me, productOf }) {
  const socket = room && room.state && room.state.socket;
  if (!socket) return;
  const opened = new Set(); // a retried message answers with the same hold: one sheet for it
  socket.on("reservation", async (hold) => {
    const v = me();
    if (!v || !hold || !hold.id || opened.has(hold.id)) return;
    opened.add(hold.id);
    try {
      const order = await checkoutHold({ reservation: hold, productOf, token: v.token, buyerId: v.user.id });
      if (order) toast(t(order.status === "paid" ? "watch.order_paid" : "watch.order_confirmed", { id: order.id }), "ok", 5000);
    } catch (e) {
      toast(explain(e), "error");
    }
  });
}
