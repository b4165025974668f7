// The watch page's auction: countdown (with its extensions and sudden death), high bid and bidder, the
// bids, "+increment", a custom bid and a max bid, the outbid notice, and the winner's checkout.
import { api, newKey } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { money, toMinor, toMajor, clock, secondsUntil, explain } from "./format.js";
import { checkoutHold } from "./buy.js";
import { t } from "./i18n.js";

/**
 * auctionPanel({broadcastId, me: () => viewer|null, ensureUser, productOf, hold?}) ->
 *   {el, attach(room), load(), tick(), render()}
 * `attach` is called with every new room connection (its socket carries `auction`, `outbid`,
 * `second_chance`); `load` reads the running auction (a page opened mid-auction); `tick` every second.
 * `render` sets every label again after a change of language (the watch page's relabel calls it).
 * `hold(id, fn, mediaPts)`: the watch page's moment gate, so an auction shows when the video reaches
 * the moment it started (its `media_pts`), as offers and pins do.
 */
export function auctionPanel({ broadcastId, me, ensureUser, productOf, hold = (_id, fn) => fn() }) {
  const el = h("section.panel.auction", { "aria-label": t("auction.label"), "data-testid": "auction", hidden: true });
  const notice = h("p.auction-notice", { role: "alert", "data-testid": "auction-notice", hidden: true });
  let a = null; // the auction as GET shows it
  let myMax = null; // my own max on this auction (only I know it)
  let lastEnd = null;
  let extendedUntil = 0;
  let busy = false;
  let checkedOut = null; // the reservation id I already checked out
  const custom = h("input", { type: "text", inputmode: "decimal", "data-testid": "custom-bid" });
  const maxInput = h("input", { type: "text", inputmode: "decimal", "data-testid": "max-bid" });

  const mine = () => {
    const v = me();
    return v && !v.auto ? v.user.id : null;
  };

  let saying = () => ""; // the notice as a function, so a change of language says it again
  /** Shows the notice; `text` is a string or a function giving it (then it follows the language). */
  function say(text, kind = "info") {
    saying = typeof text === "function" ? text : () => text;
    notice.textContent = saying();
    notice.className = `auction-notice ${kind}`;
    notice.hidden = !notice.textContent;
  }

  function show(next) {
    if (!next || next.broadcast_id !== broadcastId) return;
    if (a && a.id === next.id && next.bid_count < a.bid_count) return; // an older view arrived late
    if (!a || a.id !== next.id) {
      myMax = null;
      say("");
      lastEnd = null;
    }
    if (lastEnd && next.ends_at !== lastEnd && Date.parse(next.ends_at) > Date.parse(lastEnd)) extendedUntil = Date.now() + 3000;
    lastEnd = next.ends_at;
    a = next;
    if (a.high_bidder && a.high_bidder.id !== mine()) myMax = myMax && myMax > a.high_bid ? myMax : null;
    render();
  }

  async function bid(body, button) {
    if (busy || !(await ensureUser())) return;
    busy = true;
    if (button) button.disabled = true;
    try {
      const answer = await api("POST", `/api/v1/auctions/${encodeURIComponent(a.id)}/bids`, { token: me().token, body, idempotencyKey: newKey() });
      if (answer.max_amount) myMax = answer.max_amount;
      if (!answer.leading) say(() => t("auction.outbid_at_once", { amount: money(answer.auction.high_bid, a.currency) }), "warn");
      else if (answer.id === null) say(() => t("auction.max_now", { amount: money(answer.max_amount, a.currency) }), "ok");
      else if (answer.max_amount) say(() => t("auction.you_lead_max", { amount: money(answer.amount, a.currency), max: money(answer.max_amount, a.currency) }), "ok");
      else say(() => t("auction.you_lead", { amount: money(answer.amount, a.currency) }), "ok");
      custom.value = maxInput.value = "";
      show(answer.auction);
    } catch (e) {
      say(() => (e.min_bid ? t("auction.at_least", { reason: explain(e), amount: money(e.min_bid, a.currency) }) : explain(e)), "error");
      if (e.code === "auction_ended") refresh();
    } finally {
      busy = false;
      render();
    }
  }

  const parsed = (input) => {
    const minor = toMinor(input.value, a.currency);
    return Number.isFinite(minor) && minor > 0 ? minor : null;
  };

  async function checkoutWin() {
    if (!a || !a.winner || !a.winner.reservation_id) return;
    try {
      const reservation = await api("GET", `/api/v1/reservations/${encodeURIComponent(a.winner.reservation_id)}`, { token: me().token });
      const order = await checkoutHold({ reservation, productOf, token: me().token, buyerId: mine() });
      if (order) {
        checkedOut = a.winner.reservation_id;
        toast(t(order.status === "paid" ? "watch.order_paid" : "watch.order_confirmed", { id: order.id }), "ok", 5000);
        render();
      }
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  function countdownText() {
    if (a.status !== "active") return t("auction.ended");
    if (a.sudden_death) return t("auction.sudden_death_time", { time: clock(secondsUntil(a.closes_at)) });
    return clock(secondsUntil(a.ends_at));
  }

  async function render() {
    if (!a) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    el.setAttribute("aria-label", t("auction.label"));
    if (!notice.hidden) notice.textContent = saying();
    for (const [input, label, hint] of [[custom, "auction.your_bid", "auction.your_bid"], [maxInput, "auction.your_max_bid", "auction.max_bid"]]) {
      input.setAttribute("aria-label", t(label));
      input.placeholder = t(hint);
    }
    const p = await productOf(a.product_id).catch(() => ({ title: t("auction.label"), image_url: "" }));
    const active = a.status === "active";
    const leading = a.high_bidder && a.high_bidder.id === mine();
    const won = !active && a.winner && a.winner.user_id === mine() && mine();
    const focusKey = document.activeElement && el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const step = h("button.primary", {
      type: "button", "data-testid": "bid-step", disabled: !active || leading || busy,
      onclick: (e) => bid({ amount: a.min_bid }, e.currentTarget),
    }, a.high_bid
      ? t("auction.bid_step", { increment: money(a.increment, a.currency), amount: money(a.min_bid, a.currency) })
      : t("auction.bid_amount", { amount: money(a.min_bid, a.currency) }));
    const customForm = h("form.row", { onsubmit: (e) => {
      e.preventDefault();
      const amount = parsed(custom);
      if (amount === null) return say(() => t("auction.type_amount", { example: toMajor(a.min_bid, a.currency) }), "error");
      bid({ amount }, null);
    } }, custom, h("button", { type: "submit", "data-testid": "custom-bid-go", disabled: !active || leading }, t("auction.bid")));
    const maxForm = h("form.row", { onsubmit: (e) => {
      e.preventDefault();
      const most = parsed(maxInput);
      if (most === null) return say(() => t("auction.type_max"), "error");
      bid({ max_amount: most }, null);
    } }, maxInput, h("button", { type: "submit", "data-testid": "max-bid-go", disabled: !active }, t("auction.set_max")));
    const extended = Date.now() < extendedUntil;
    fill(el,
      h("div.row.spread",
        h("div.flash", t(a.sudden_death ? "auction.sudden_death" : "auction.live")),
        h("span.countdown", { "data-testid": "auction-countdown", "aria-label": t("auction.time_left"), class: extended ? "extended" : "" }, countdownText()),
        extended ? h("span.badge.small", { "data-testid": "extended" }, t("auction.extended")) : null),
      h("div.row",
        h("img.thumb", { src: p.image_url || "", alt: "", width: 48, height: 48 }),
        h("div.grow",
          h("b", p.title),
          h("div",
            h("span.price", { "data-testid": "high-bid" }, a.high_bid ? money(a.high_bid, a.currency) : t("auction.starts_at", { amount: money(a.starting_bid, a.currency) })),
            h("span.muted", { "data-testid": "high-bidder" }, a.high_bidder ? ` · ${leading ? t("auction.you") : a.high_bidder.nickname}` : ` · ${t("auction.no_bids_yet")}`)),
          h("div.muted.small", t("auction.bids", { count: a.bid_count }),
            a.reserve_met === false ? ` · ${t("auction.reserve_not_met")}` : "",
            myMax && active ? ` · ${t("auction.your_max", { amount: money(myMax, a.currency) })}` : ""))),
      notice,
      active ? h("div.stack", step, customForm, maxForm) : null,
      won ? (checkedOut === a.winner.reservation_id
        ? h("p.ok-text", { "data-testid": "auction-won" }, t("auction.won_ordered"))
        : h("div.stack",
          h("p.ok-text", { "data-testid": "auction-won" },
            t(a.winner.second_chance ? "auction.won_second_chance" : "auction.won", { amount: money(a.winner.amount || a.high_bid, a.currency) })),
          h("button.primary", { type: "button", "data-testid": "auction-checkout", onclick: checkoutWin }, t("auction.checkout")))) : null,
      !active && !won ? h("p.muted", !a.winner ? t("auction.no_sale")
        : a.winner.user_id === (a.high_bidder && a.high_bidder.id) ? t("auction.sold_to", { name: a.high_bidder.nickname })
          : t("auction.sold_to_other")) : null,
      h("ol.bids.small", { "aria-label": t("auction.bids_list"), "data-testid": "bids" },
        a.bids.slice(0, 5).map((b) => h("li", h("b", money(b.amount, a.currency)), ` ${b.bidder.nickname}`))));
    if (focusKey) {
      const again = el.querySelector(`[data-testid="${focusKey}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  async function refresh() {
    if (!a) return;
    try {
      show(await api("GET", `/api/v1/auctions/${encodeURIComponent(a.id)}`));
    } catch {
      /* the next event or tick brings it */
    }
  }

  return {
    el,
    render,
    attach(room) {
      const socket = room && room.state && room.state.socket;
      if (!socket) return;
      socket.on("auction", (data) => hold(data.auction && data.auction.id, () => show(data.auction), data.media_pts));
      socket.on("outbid", (data) => {
        show(data.auction);
        say(() => t("auction.outbid", { amount: money(data.auction.high_bid, data.auction.currency), name: data.auction.high_bidder.nickname }), "warn");
        toast(t("auction.outbid_toast"), "info", 3000);
      });
      socket.on("second_chance", (data) => {
        show(data.auction);
        say(() => t("auction.second_chance_notice"), "ok");
      });
    },
    async load() {
      try {
        const list = await api("GET", `/api/v1/broadcasts/${encodeURIComponent(broadcastId)}/auctions`);
        if (list.items.length) show(list.items[0]);
      } catch {
        /* no auctions to show */
      }
    },
    tick() {
      if (!a) return;
      const c = el.querySelector("[data-testid=auction-countdown]");
      if (c) c.textContent = countdownText();
      const end = a.sudden_death ? a.closes_at : a.ends_at;
      if (a.status === "active" && secondsUntil(end) < -1) refresh(); // ended, or sudden death began
    },
  };
}
