// The studio's catalog and flash offers: add/edit products, pin with one click, launch and end offers.
import { api, rememberProduct } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { money, toMinor, toMajor, clock, secondsUntil, explain } from "./format.js";

function productForm(p, onSave) {
  return (close) => {
    const currency = h("input", { value: p ? p.currency : "USD", maxlength: 3, required: true, pattern: "[A-Z]{3}", disabled: Boolean(p) });
    const sku = h("input", { value: p ? p.sku : "", required: true, maxlength: 64, disabled: Boolean(p) });
    const title = h("input", { value: p ? p.title : "", required: true, maxlength: 200 });
    const price = h("input", { value: p ? toMajor(p.price, p.currency) : "", required: true, inputmode: "decimal" });
    const stock = h("input", { type: "number", min: 0, value: p ? p.stock : 100, required: true });
    const image = h("input", { value: p ? p.image_url || "" : "", placeholder: "https://… or /static/…", maxlength: 1000 });
    const description = h("textarea", { maxlength: 5000 }, p ? p.description || "" : "");
    const error = h("p.error-text", { role: "alert", hidden: true });
    const save = h("button.primary", { type: "submit" }, p ? "Save changes" : "Add product");
    return h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        const cur = currency.value.trim().toUpperCase();
        const body = { title: title.value.trim(), price: toMinor(price.value, cur), stock: Number(stock.value), description: description.value };
        if (Number.isNaN(body.price)) {
          error.textContent = "Price must be a number, e.g. 19.99";
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
      p ? null : h("div.grid-2", field("SKU", sku), field("Currency", currency)),
      field("Title", title),
      h("div.grid-2", field(`Price (${p ? p.currency : "e.g. 19.99"})`, price), field("Stock", stock)),
      field("Image URL", image), field("Description", description), error, save);
  };
}

function offerForm(p, onLaunch) {
  return (close) => {
    const price = h("input", { value: toMajor(Math.round((p.price * 0.8) / 100) * 100 || p.price, p.currency), required: true, inputmode: "decimal" });
    const quantity = h("input", { type: "number", min: 1, max: Math.max(1, p.stock), value: Math.max(1, Math.min(20, p.stock)), required: true });
    const limit = h("input", { type: "number", min: 1, max: 1000, value: 2, required: true });
    const duration = h("select",
      [["30", "30 seconds"], ["60", "1 minute"], ["120", "2 minutes"], ["300", "5 minutes"], ["600", "10 minutes"], ["1800", "30 minutes"]]
        .map(([v, label]) => h("option", { value: v, selected: v === "120" }, label)));
    const error = h("p.error-text", { role: "alert", hidden: true });
    const go = h("button.primary", { type: "submit" }, "Launch offer");
    return h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { product_id: p.id, price: toMinor(price.value, p.currency), quantity: Number(quantity.value), per_buyer_limit: Number(limit.value), duration_s: Number(duration.value) };
        if (Number.isNaN(body.price)) {
          error.textContent = "Price must be a number";
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
      h("div.row", h("img", { src: p.image_url || "", alt: "", width: 48, height: 48, style: { borderRadius: "8px" } }), h("div", h("b", p.title), h("div.muted.small", `${money(p.price, p.currency)} · ${p.stock} on the shelf`))),
      h("div.grid-2", field(`Offer price (${p.currency})`, price), field("Quantity", quantity)),
      h("div.grid-2", field("Limit per buyer", limit), field("Duration", duration)),
      error, go);
  };
}

/** The catalog panel and the offers panel; `ctx` carries the token, broadcast and callbacks. */
export function catalogPanels(ctx) {
  const list = h("div.catalog", { role: "list", "aria-label": "Products" });
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
      toast(pinned ? `Unpinned ${p.title}` : `Pinned ${p.title}`, "ok", 2000);
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  async function addProduct() {
    const p = await modal("Add a product", productForm(null, (body) => api("POST", "/api/v1/products", { token: ctx.token, body, idempotencyKey: body.sku })));
    if (p) {
      toast(`Added ${p.title}`, "ok");
      await loadProducts();
    }
  }

  async function editProduct(p) {
    const saved = await modal(`Edit ${p.title}`, productForm(p, (body) => api("PATCH", `/api/v1/products/${p.id}`, { token: ctx.token, body })));
    if (saved) {
      toast("Saved", "ok", 2000);
      await loadProducts();
    }
  }

  async function launch(p) {
    const offer = await modal(`Flash offer: ${p.title}`, offerForm(p, (body) => api("POST", `/api/v1/broadcasts/${ctx.id}/offers`, { token: ctx.token, body })));
    if (offer) {
      toast("Offer launched", "ok", 2000);
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
        h("div.muted.small", `${money(p.price, p.currency)} · ${p.stock} in stock · ${p.sku}`)),
      h("div.actions",
        h("button.small", { type: "button", "aria-pressed": String(pinnedIds.has(p.id)), "aria-label": `${pinnedIds.has(p.id) ? "Unpin" : "Pin"} ${p.title}`, disabled: ended, onclick: () => pin(p) }, pinnedIds.has(p.id) ? "Unpin" : "Pin"),
        h("button.small", { type: "button", "aria-label": `Launch a flash offer for ${p.title}`, disabled: ended || running.has(p.id) || p.stock < 1, title: running.has(p.id) ? "An offer is running for this product" : "", onclick: () => launch(p) }, "Offer"),
        h("button.small.ghost", { type: "button", "aria-label": `Edit ${p.title}`, onclick: () => editProduct(p) }, "Edit"),
      ),
    )));
  }

  function renderOffers() {
    const active = [...offers.values()].filter((o) => o.status === "active");
    const past = [...offers.values()].filter((o) => o.status !== "active");
    fill(offersBox, active.length ? active.map(offerItem) : h("p.muted", "No offer running. Launch one from a product."));
    fill(pastBox, past.slice(0, 8).map((o) => h("div.row.spread", h("span", title(o)), h("span.muted", `${o.sold}/${o.quantity} sold · ${money(o.price * o.sold, o.currency)}`))));
  }

  function title(o) {
    const p = products.find((x) => x.id === o.product_id);
    return p ? p.title : o.product_id;
  }

  function offerItem(o) {
    const pct = (n) => `${((100 * n) / Math.max(1, o.quantity)).toFixed(1)}%`;
    return h("div.offer-item", { dataset: { offer: o.id } },
      h("div.row.spread", h("b", title(o)), h("span.badge.live", { "data-countdown": o.ends_at, "aria-label": "Time left" }, clock(secondsUntil(o.ends_at)))),
      h("div.muted.small", `${money(o.price, o.currency)} · limit ${o.per_buyer_limit} per buyer · ${o.quantity} units`),
      h("div.bar", { "aria-hidden": "true" }, h("div.sold", { style: { width: pct(o.sold) } }), h("div.held", { style: { width: pct(o.held) } })),
      h("div.counts",
        h("div.count", h("b", { "data-testid": "offer-available" }, o.available), h("span", "available")),
        h("div.count", h("b", { "data-testid": "offer-held" }, o.held), h("span", "held")),
        h("div.count", h("b", { "data-testid": "offer-sold" }, o.sold), h("span", "sold"))),
      h("button.small.danger", { type: "button", onclick: () => endOffer(o) }, "End offer now"),
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
    h("h2#catalog-h", "Products", h("button.small", { type: "button", onclick: addProduct }, "+ Add product")), list);
  const offersPanel = h("section.panel.stack", { "aria-labelledby": "offers-h" },
    h("h2#offers-h", "Flash offers"), offersBox, h("details", h("summary.muted.small", "Past offers"), pastBox));

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
