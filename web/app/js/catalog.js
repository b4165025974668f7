// The studio's catalog and flash offers: add/edit products, pin with one click, launch and end offers.
import { api, rememberProduct } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { money, toMinor, toMajor, clock, secondsUntil, explain } from "./format.js";
import { t } from "./i18n.js";

function productForm(p, onSave, shopCurrency = "USD") {
  return (close) => {
    const currency = h("input", { value: p ? p.currency : shopCurrency, maxlength: 3, required: true, pattern: "[A-Z]{3}", disabled: Boolean(p) });
    const sku = h("input", { value: p ? p.sku : "", required: true, maxlength: 64, disabled: Boolean(p) });
    const title = h("input", { value: p ? p.title : "", required: true, maxlength: 200 });
    const price = h("input", { value: p ? toMajor(p.price, p.currency) : "", required: true, inputmode: "decimal" });
    const stock = h("input", { type: "number", min: 0, value: p ? p.stock : 100, required: true });
    const image = h("input", { value: p ? p.image_url || "" : "", placeholder: t("catalog.image_placeholder"), maxlength: 1000 });
    const description = h("textarea", { maxlength: 5000 }, p ? p.description || "" : "");
    const error = h("p.error-text", { role: "alert", hidden: true });
    const save = h("button.primary", { type: "submit" }, p ? t("catalog.save_changes") : t("catalog.add_product"));
    return h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        const cur = currency.value.trim().toUpperCase();
        const body = { title: title.value.trim(), price: toMinor(price.value, cur), stock: Number(stock.value), description: description.value };
        if (Number.isNaN(body.price)) {
          error.textContent = t("catalog.price_not_a_number", { example: toMajor(1999, cur || "USD") });
          error.hidden = false;
          return;
        }
        body.image_url = image.value.trim() || null;
        if (!p) Object.assign(body, { sku: sku.value.trim(), currency: cur });
        save.disabled = true;
        try {
          close(await onSave(body));
        } catch (e) {
          error.textContent = explain(e);
          error.hidden = false;
          save.disabled = false;
        }
      },
    },
      p ? null : h("div.grid-2", field(t("catalog.sku"), sku), field(t("catalog.currency"), currency)),
      field(t("catalog.title"), title),
      h("div.grid-2", field(t("catalog.price_in", { currency: p ? p.currency : currency.value }), price), field(t("catalog.stock"), stock)),
      field(t("catalog.image_url"), image), field(t("catalog.description"), description), error, save);
  };
}

function offerForm(p, onLaunch) {
  return (close) => {
    const price = h("input", { value: toMajor(Math.round((p.price * 0.8) / 100) * 100 || p.price, p.currency), required: true, inputmode: "decimal" });
    const quantity = h("input", { type: "number", min: 1, max: Math.max(1, p.stock), value: Math.max(1, Math.min(20, p.stock)), required: true });
    const limit = h("input", { type: "number", min: 1, max: 1000, value: 2, required: true });
    const duration = h("select",
      [30, 60, 120, 300, 600, 1800]
        .map((v) => h("option", { value: String(v), selected: v === 120 }, v < 60 ? t("common.seconds", { count: v }) : t("common.minutes", { count: v / 60 }))));
    const error = h("p.error-text", { role: "alert", hidden: true });
    const go = h("button.primary", { type: "submit" }, t("offers.launch"));
    return h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { product_id: p.id, price: toMinor(price.value, p.currency), quantity: Number(quantity.value), per_buyer_limit: Number(limit.value), duration_s: Number(duration.value) };
        if (Number.isNaN(body.price)) {
          error.textContent = t("catalog.price_not_a_number", { example: toMajor(1999, p.currency) });
          error.hidden = false;
          return;
        }
        go.disabled = true;
        try {
          close(await onLaunch(body));
        } catch (e) {
          error.textContent = explain(e);
          error.hidden = false;
          go.disabled = false;
        }
      },
    },
      h("div.row", h("img", { src: p.image_url || "", alt: "", width: 48, height: 48, style: { borderRadius: "8px" } }), h("div", h("b", p.title), h("div.muted.small", `${money(p.price, p.currency)} · ${t("offers.on_shelf", { count: p.stock })}`))),
      h("div.grid-2", field(t("offers.price_in", { currency: p.currency }), price), field(t("offers.quantity"), quantity)),
      h("div.grid-2", field(t("offers.limit_per_buyer"), limit), field(t("offers.duration"), duration)),
      error, go);
  };
}

/** The catalog panel and the offers panel; `ctx` carries the token, broadcast and callbacks. */
export function catalogPanels(ctx) {
  const list = h("div.catalog", { role: "list", "aria-label": t("catalog.products") });
  const offersBox = h("div.stack", { "aria-live": "polite" });
  const pastBox = h("div.stack.small");
  let products = [];
  const offers = new Map();

  async function loadProducts() {
    products = (await api("GET", "/api/v1/products")).items;
    products.forEach(rememberProduct);
    renderProducts();
  }

  async function pin(p) {
    const pinned = ctx.pins().some((x) => x.id === p.id);
    try {
      const reply = pinned
        ? await api("DELETE", `/api/v1/broadcasts/${ctx.id}/pins/${encodeURIComponent(p.id)}`, { token: ctx.token })
        : await api("PUT", `/api/v1/broadcasts/${ctx.id}/pin`, { token: ctx.token, body: { product_id: p.id } });
      ctx.setPins(reply.pins || (reply.pinned ? [reply.pinned] : []));
      toast(t(pinned ? "catalog.unpinned_toast" : "catalog.pinned_toast", { title: p.title }), "ok", 2000);
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  async function addProduct() {
    const p = await modal(t("catalog.add_title"), productForm(null, (body) => api("POST", "/api/v1/products", { token: ctx.token, body, idempotencyKey: body.sku }), ctx.currency && ctx.currency()));
    if (p) {
      toast(t("catalog.added", { title: p.title }), "ok");
      await loadProducts();
    }
  }

  async function editProduct(p) {
    const saved = await modal(t("catalog.edit_title", { title: p.title }), productForm(p, (body) => api("PATCH", `/api/v1/products/${p.id}`, { token: ctx.token, body })));
    if (saved) {
      toast(t("common.saved"), "ok", 2000);
      await loadProducts();
    }
  }

  async function launch(p) {
    const offer = await modal(t("offers.modal_title", { title: p.title }), offerForm(p, (body) => api("POST", `/api/v1/broadcasts/${ctx.id}/offers`, { token: ctx.token, body })));
    if (offer) {
      toast(t("offers.launched"), "ok", 2000);
      updateOffer(offer);
      loadProducts();
    }
  }

  async function endOffer(offer) {
    try {
      updateOffer(await api("POST", `/api/v1/offers/${offer.id}/end`, { token: ctx.token }));
      loadProducts();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  function renderProducts() {
    const pinnedIds = new Set(ctx.pins().map((x) => x.id));
    const ended = ctx.ended();
    const running = new Set([...offers.values()].filter((o) => o.status === "active").map((o) => o.product_id));
    fill(list, products.map((p) => h("div.product-row", { role: "listitem", class: pinnedIds.has(p.id) ? "pinned" : "", dataset: { sku: p.sku } },
      h("img", { src: p.image_url || "", alt: "", loading: "lazy" }),
      h("div.meta",
        h("div.title", p.title),
        h("div.muted.small", `${money(p.price, p.currency)} · ${t("catalog.in_stock", { count: p.stock })} · ${p.sku}`)),
      h("div.actions",
        h("button.small", { type: "button", "aria-pressed": String(pinnedIds.has(p.id)), "aria-label": t(pinnedIds.has(p.id) ? "catalog.unpin_what" : "catalog.pin_what", { title: p.title }), disabled: ended, onclick: () => pin(p) }, pinnedIds.has(p.id) ? t("pins.unpin") : t("catalog.pin")),
        h("button.small", { type: "button", "aria-label": t("catalog.offer_what", { title: p.title }), disabled: ended || running.has(p.id) || p.stock < 1, title: running.has(p.id) ? t("error.offer_active") : "", onclick: () => launch(p) }, t("catalog.offer")),
        h("button.small.ghost", { type: "button", "aria-label": t("catalog.edit_title", { title: p.title }), onclick: () => editProduct(p) }, t("common.edit")),
      ),
    )));
  }

  function renderOffers() {
    const active = [...offers.values()].filter((o) => o.status === "active");
    const past = [...offers.values()].filter((o) => o.status !== "active");
    fill(offersBox, active.length ? active.map(offerItem) : h("p.muted", t("offers.none_running")));
    fill(pastBox, past.slice(0, 8).map((o) => h("div.row.spread", h("span", title(o)), h("span.muted", `${t("offers.sold_of", { sold: o.sold, count: o.quantity })} · ${money(o.price * o.sold, o.currency)}`))));
  }

  function title(o) {
    const p = products.find((x) => x.id === o.product_id);
    return p ? p.title : o.product_id;
  }

  function offerItem(o) {
    const pct = (n) => `${((100 * n) / Math.max(1, o.quantity)).toFixed(1)}%`; // a CSS width, not text
    return h("div.offer-item", { dataset: { offer: o.id } },
      h("div.row.spread", h("b", title(o)), h("span.badge.live", { "data-countdown": o.ends_at, "aria-label": t("offers.time_left") }, clock(secondsUntil(o.ends_at)))),
      h("div.muted.small", `${money(o.price, o.currency)} · ${t("offers.limit_each", { count: o.per_buyer_limit })} · ${t("offers.units", { count: o.quantity })}`),
      h("div.bar", { "aria-hidden": "true" }, h("div.sold", { style: { width: pct(o.sold) } }), h("div.held", { style: { width: pct(o.held) } })),
      h("div.counts",
        h("div.count", h("b", { "data-testid": "offer-available" }, o.available), h("span", t("offers.available"))),
        h("div.count", h("b", { "data-testid": "offer-held" }, o.held), h("span", t("offers.held"))),
        h("div.count", h("b", { "data-testid": "offer-sold" }, o.sold), h("span", t("offers.sold")))),
      h("button.small.danger", { type: "button", onclick: () => endOffer(o) }, t("offers.end_now")),
    );
  }

  function updateOffer(o) {
    const before = offers.get(o.id);
    offers.set(o.id, o);
    renderOffers();
    if (!before || before.status !== o.status) renderProducts();
    ctx.onOffer(o, before);
  }

  function tick() {
    for (const el of offersBox.querySelectorAll("[data-countdown]")) el.textContent = clock(secondsUntil(el.dataset.countdown));
    for (const o of offers.values()) {
      if (o.status === "active" && secondsUntil(o.ends_at) < -2 && !o._refreshing) {
        o._refreshing = true; // the sweeper ends it; fetch the final counts once
        api("GET", `/api/v1/offers/${o.id}`).then(updateOffer).catch(() => {});
      }
    }
  }

  const catalogPanel = h("section.panel.stack", { "aria-labelledby": "catalog-h" },
    h("h2#catalog-h", t("catalog.products"), h("button.small", { type: "button", onclick: addProduct }, t("catalog.add_button"))), list);
  const offersPanel = h("section.panel.stack", { "aria-labelledby": "offers-h" },
    h("h2#offers-h", t("offers.title")), offersBox, h("details", h("summary.muted.small", t("offers.past")), pastBox));

  return {
    catalogPanel,
    offersPanel,
    loadProducts,
    renderProducts,
    updateOffer,
    offers: () => [...offers.values()],
    products: () => products,
    tick,
  };
}
