// Up to three pinned products: the watch page's carousel (scroll-snap, swipe, arrow buttons, a Buy
// button on each card) and the studio's pinned set with an Unpin button per product.
import { api } from "./api.js";
import { h, fill, toast } from "./dom.js";
import { money, explain } from "./format.js";
import { t } from "./i18n.js";

/**
 * The pins of a snapshot or a `pinned` room event, the most recent first. Servers before three pins
 * send only `pinned` (one product or null).
 */
export function pinsOf(data) {
  if (!data) return [];
  if (Array.isArray(data.pins)) return data.pins;
  const one = "product" in data ? data.product : "pinned" in data ? data.pinned : null;
  return one ? [one] : [];
}

/**
 * The watch page's carousel. `offerFor(productId)` is the product's active offer or undefined;
 * `buyControls(offer, label, where)` draws the watch page's quantity + Buy controls; `refill(box, ...)`
 * re-renders keeping focus.
 */
export function pinsCarousel({ offerFor, buyControls, refill }) {
  const track = h("div.pin-track", { role: "group", "aria-roledescription": t("pins.carousel"), "aria-label": t("pins.pinned_products"), "data-testid": "pin-track" });
  const prev = h("button.small.ghost.pin-nav", { type: "button", "aria-label": t("pins.previous"), onclick: () => step(-1) }, "‹");
  const next = h("button.small.ghost.pin-nav", { type: "button", "aria-label": t("pins.next"), onclick: () => step(1) }, "›");
  const dots = h("div.pin-dots", { "aria-hidden": "true" });
  const heading = h("h3", t("watch.featured"));
  const box = h("section.panel.pins", { "aria-label": t("pins.pinned_products"), "data-testid": "pinned", hidden: true },
    h("div.row.spread", heading, h("div.row", prev, next)), track, dots);
  let pins = [];

  function step(direction) {
    const card = track.querySelector(".pin-card");
    if (card) track.scrollBy({ left: direction * (card.getBoundingClientRect().width + 12), behavior: "smooth" });
  }

  function showDots() {
    const width = track.clientWidth || 1;
    const at = Math.round(track.scrollLeft / width);
    [...dots.children].forEach((d, i) => d.classList.toggle("on", i === at));
    prev.disabled = track.scrollLeft <= 2;
    next.disabled = track.scrollLeft + track.clientWidth >= track.scrollWidth - 2;
  }
  track.addEventListener("scroll", showDots, { passive: true });

  function card(p, index) {
    const o = offerFor(p.id);
    return h("article.pin-card", { "aria-label": t("pins.card_label", { n: index + 1, count: pins.length, title: p.title }), dataset: { product: p.id, testid: "pin-card" } },
      h("img", { src: p.image_url || "", alt: "" }),
      h("div.stack",
        h("b", { "data-testid": index === 0 ? "pinned-title" : "pin-title" }, p.title),
        h("div",
          h("span.price", money(o ? o.price : p.price, p.currency)),
          o && p.price > o.price ? h("span.was", money(p.price, p.currency)) : null),
        p.description ? h("p.muted.small", { style: { margin: 0 } }, p.description) : null,
        o ? buyControls(o, t("watch.buy"), `pin-${p.id}`) : h("div.stack",
          h("button", { type: "button", disabled: true }, t("watch.buy")),
          h("p.muted.small", { style: { margin: 0 } }, t("pins.not_on_sale")))));
  }

  return {
    el: box,
    /** Draws `list` (the most recent pin first); without arguments, redraws (stock, offers changed). */
    render(list) {
      if (list) pins = list;
      box.hidden = pins.length === 0;
      heading.textContent = pins.length > 1 ? `${t("watch.featured")} · ${pins.length}` : t("watch.featured");
      prev.hidden = next.hidden = pins.length < 2;
      refill(track, pins.map(card));
      fill(dots, pins.length > 1 ? pins.map(() => h("span.dot")) : []);
      showDots();
    },
  };
}

/**
 * The studio's pinned set: each pin with an Unpin button, and "Unpin all". `ctx`: {id, token, pins(),
 * setPins(list), ended()}.
 */
export function pinnedSet(ctx) {
  const list = h("div.stack", { "data-testid": "pinned-set" });
  const panel = h("section.panel.stack", { "aria-labelledby": "pins-h" }, h("h2#pins-h", t("pins.title")), list);

  async function unpin(p) {
    try {
      const reply = p
        ? await api("DELETE", `/api/v1/broadcasts/${ctx.id}/pins/${encodeURIComponent(p.id)}`, { token: ctx.token })
        : await api("DELETE", `/api/v1/broadcasts/${ctx.id}/pin`, { token: ctx.token });
      ctx.setPins(pinsOf(reply));
      toast(p ? t("catalog.unpinned_toast", { title: p.title }) : t("pins.unpinned_all"), "ok", 2000);
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  return {
    panel,
    render() {
      const pins = ctx.pins();
      const ended = ctx.ended();
      fill(list, pins.length === 0
        ? h("p.muted.small", t("pins.none"))
        : [
          ...pins.map((p, i) => h("div.row.spread.pin-row", { dataset: { product: p.id } },
            h("div.row", h("img.thumb", { src: p.image_url || "", alt: "", width: 40, height: 40 }),
              h("div", h("b", p.title), h("div.muted.small", `${money(p.price, p.currency)}${i === 0 ? ` · ${t("pins.most_recent")}` : ""}`))),
            h("button.small", { type: "button", disabled: ended, "aria-label": t("catalog.unpin_what", { title: p.title }), onclick: () => unpin(p) }, t("pins.unpin")))),
          pins.length > 1 ? h("button.small.ghost", { type: "button", disabled: ended, onclick: () => unpin(null) }, t("pins.unpin_all")) : null,
        ]);
    },
  };
}
