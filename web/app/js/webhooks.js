// Webhooks for the shop's own systems (fulfilment, ERP, accounting): endpoints, their signing secret
// (shown once), the delivery log of each, and replay of a failed delivery.
import { api } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { explain, dateTime } from "./format.js";
import { t, has } from "./i18n.js";

const statusWord = (status) => (has(`hooks.status.${status}`) ? t(`hooks.status.${status}`) : status);

/** Mounts the page in `root`; returns a function that stops its refresh. */
export async function webhooksPage(root, who, { navigate }) {
  const token = who.token;
  document.title = t("hooks.page_title");
  const list = h("div.stack", { "data-testid": "endpoints" });
  const open = new Set(); // endpoint ids whose log is shown
  let known = [];

  const url = h("input#hook-url", { type: "url", required: true, maxlength: 2000, placeholder: "https://erp.example.com/liveshop" });
  const description = h("input#hook-desc", { maxlength: 200, placeholder: t("hooks.description_placeholder") });
  const boxes = h("fieldset.events", h("legend.small.muted", t("hooks.events")));
  const form = h("form.stack", { onsubmit: create }, field(t("hooks.url"), url), field(t("hooks.description"), description), boxes,
    h("button.primary", { type: "submit" }, t("hooks.add")));

  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row", h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, t("console.back_to_broadcasts")), h("h1", { style: { margin: 0 } }, t("hooks.title")))),
    h("div.hooks",
      h("section.panel.stack", { "aria-labelledby": "new-hook-h" }, h("h2#new-hook-h", t("hooks.new")),
        h("p.muted.small", t("hooks.help")),
        form),
      h("section.panel.stack", { "aria-labelledby": "hooks-h" }, h("h2#hooks-h", t("hooks.endpoints")), list)));

  async function load() {
    const reply = await api("GET", "/api/v1/webhook-endpoints", { token });
    if (!boxes.querySelector("input")) {
      for (const type of reply.events || []) {
        boxes.append(h("label.check", h("input", { type: "checkbox", name: "events", value: type, checked: true }), h("code", type)));
      }
    }
    known = reply.items;
    await render();
  }

  async function render() {
    if (!known.length) {
      fill(list, h("p.muted", t("hooks.none")));
      return;
    }
    const cards = await Promise.all(known.map(card));
    fill(list, cards);
  }

  async function card(ep) {
    const counts = ep.deliveries || {};
    const log = h("div");
    const toggle = h("button.small", { type: "button", "aria-expanded": String(open.has(ep.id)), onclick: async () => {
      if (open.has(ep.id)) open.delete(ep.id);
      else open.add(ep.id);
      await render();
    } }, open.has(ep.id) ? t("hooks.hide_deliveries") : t("hooks.deliveries"));
    if (open.has(ep.id)) fill(log, await deliveries(ep));
    return h("article.endpoint.stack", { dataset: { endpoint: ep.id } },
      h("div.row.spread",
        h("div", h("b.url", ep.url), ep.description ? h("div.muted.small", ep.description) : null),
        h("div.row", toggle, h("button.small.danger", { type: "button", onclick: () => remove(ep) }, t("common.delete")))),
      h("div.row.small.muted",
        h("span", t("hooks.secret_hint", { hint: ep.secret_hint })),
        h("span", t("hooks.events_list", { events: ep.events.join(", ") })),
        h("span", { "data-testid": "counts" }, t("hooks.counts", { done: counts.done || 0, pending: counts.pending || 0, dead: counts.dead || 0 }))),
      log);
  }

  async function deliveries(ep) {
    let items;
    try {
      ({ items } = await api("GET", `/api/v1/webhook-endpoints/${encodeURIComponent(ep.id)}/deliveries`, { token }));
    } catch (e) {
      return h("p.notice.error", explain(e));
    }
    if (!items.length) return h("p.muted.small", t("hooks.nothing_sent"));
    return h("div.table-wrap", h("table.deliveries", { "data-testid": "deliveries" },
      h("thead", h("tr", ["event", "about", "status", "tries", "last_answer", "when"].map((k) => h("th", { scope: "col" }, t(`hooks.col.${k}`))), h("th", { scope: "col" }))),
      h("tbody", items.map((d) => h("tr", { dataset: { delivery: d.id } },
        h("td", h("code", d.event_type)),
        h("td.small", h("code", d.object_id || "")),
        h("td", h("span.badge", { class: `dl-${d.status}` }, statusWord(d.status))),
        h("td.num", d.attempts),
        h("td.small", d.last_status ? `HTTP ${d.last_status}` : d.last_error || "—"),
        h("td.small", dateTime(d.delivered_at || d.created_at)),
        h("td", d.status === "pending" ? null : h("button.small", { type: "button", onclick: () => replay(d) }, d.status === "dead" ? t("hooks.replay") : t("hooks.send_again"))))))));
  }

  async function create(event) {
    event.preventDefault();
    const events = [...boxes.querySelectorAll("input:checked")].map((i) => i.value);
    const all = boxes.querySelectorAll("input").length;
    try {
      const ep = await api("POST", "/api/v1/webhook-endpoints", {
        token,
        body: { url: url.value.trim(), description: description.value.trim(), events: events.length === all ? ["*"] : events },
      });
      form.reset();
      for (const box of boxes.querySelectorAll("input")) box.checked = true;
      await showSecret(ep);
      await load();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  function showSecret(ep) {
    return modal(t("hooks.secret_title"), (close) => {
      const code = h("code.secret", { "data-testid": "endpoint-secret" }, ep.secret);
      return h("div.stack",
        h("p", t("hooks.secret_body")),
        h("div.key-row", code, h("button.small", { type: "button", onclick: async () => {
          try {
            await navigator.clipboard.writeText(ep.secret);
            toast(t("hooks.secret_copied"), "ok", 1500);
          } catch {
            toast(t("common.copy_failed"), "error");
          }
        } }, t("common.copy"))),
        h("button.primary", { type: "button", onclick: () => close(true) }, t("hooks.saved_it")));
    });
  }

  async function remove(ep) {
    const sure = await modal(t("hooks.delete_title"), (close) => h("div.stack",
      h("p", t("hooks.delete_body", { url: ep.url })),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, t("common.delete")), h("button", { type: "button", onclick: () => close(false) }, t("common.keep")))));
    if (!sure) return;
    try {
      await api("DELETE", `/api/v1/webhook-endpoints/${encodeURIComponent(ep.id)}`, { token });
      open.delete(ep.id);
      await load();
    } catch (e) {
      toast(explain(e), "error");
    }
  }

  async function replay(d) {
    try {
      await api("POST", `/api/v1/webhook-deliveries/${d.id}/replay`, { token });
      toast(t("hooks.sending_again"), "ok", 1500);
    } catch (e) {
      toast(explain(e), "error");
    }
    await load();
  }

  await load();
  const timer = setInterval(() => {
    if (document.visibilityState === "visible" && open.size) load().catch(() => {});
  }, 5000);
  return () => clearInterval(timer);
}
