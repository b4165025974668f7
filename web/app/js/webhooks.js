// Webhooks for the shop's own systems (fulfilment, ERP, accounting): endpoints, their signing secret
// (shown once), the delivery log of each, and replay of a failed delivery.
import { api } from "./api.js";
import { h, fill, toast, modal, field } from "./dom.js";
import { explain } from "./format.js";

const STATUS_WORDS = { pending: "Retrying", done: "Delivered", dead: "Failed" };

/** Mounts the page in `root`; returns a function that stops its refresh. */
export async function webhooksPage(root, who, { navigate }) {
  const token = who.token;
  document.title = "Webhooks · liveshop console";
  const list = h("div.stack", { "data-testid": "endpoints" });
  const open = new Set(); // endpoint ids whose log is shown
  let known = [];

  const url = h("input#hook-url", { type: "url", required: true, maxlength: 2000, placeholder: "https://erp.example.com/liveshop" });
  const description = h("input#hook-desc", { maxlength: 200, placeholder: "e.g. fulfilment" });
  const boxes = h("fieldset.events", h("legend.small.muted", "Events"));
  const form = h("form.stack", { onsubmit: create }, field("Endpoint URL", url), field("Description", description), boxes,
    h("button.primary", { type: "submit" }, "Add endpoint"));

  fill(root,
    h("div.row.spread", { style: { marginBottom: "1rem" } },
      h("div.row", h("a.button.small.ghost", { href: "/console", onclick: (e) => { e.preventDefault(); navigate("/console"); } }, "← Broadcasts"), h("h1", { style: { margin: 0 } }, "Webhooks"))),
    h("div.hooks",
      h("section.panel.stack", { "aria-labelledby": "new-hook-h" }, h("h2#new-hook-h", "New endpoint"),
        h("p.muted.small", "liveshop POSTs each event as JSON, signed like Stripe: header Liveshop-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> with the endpoint's secret. Answer 2xx; anything else is retried with backoff."),
        form),
      h("section.panel.stack", { "aria-labelledby": "hooks-h" }, h("h2#hooks-h", "Endpoints"), list)));

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
      fill(list, h("p.muted", "No endpoints yet."));
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
    } }, open.has(ep.id) ? "Hide deliveries" : "Deliveries");
    if (open.has(ep.id)) fill(log, await deliveries(ep));
    return h("article.endpoint.stack", { dataset: { endpoint: ep.id } },
      h("div.row.spread",
        h("div", h("b.url", ep.url), ep.description ? h("div.muted.small", ep.description) : null),
        h("div.row", toggle, h("button.small.danger", { type: "button", onclick: () => remove(ep) }, "Delete"))),
      h("div.row.small.muted",
        h("span", `secret ${ep.secret_hint}`),
        h("span", `events: ${ep.events.join(", ")}`),
        h("span", { "data-testid": "counts" }, `${counts.done || 0} delivered · ${counts.pending || 0} retrying · ${counts.dead || 0} failed`)),
      log);
  }

  async function deliveries(ep) {
    let items;
    try {
      ({ items } = await api("GET", `/api/v1/webhook-endpoints/${encodeURIComponent(ep.id)}/deliveries`, { token }));
    } catch (e) {
      return h("p.notice.error", explain(e));
    }
    if (!items.length) return h("p.muted.small", "Nothing sent yet.");
    return h("div.table-wrap", h("table.deliveries", { "data-testid": "deliveries" },
      h("thead", h("tr", ["Event", "About", "Status", "Tries", "Last answer", "When", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", items.map((d) => h("tr", { dataset: { delivery: d.id } },
        h("td", h("code", d.event_type)),
        h("td.small", h("code", d.object_id || "")),
        h("td", h("span.badge", { class: `dl-${d.status}` }, STATUS_WORDS[d.status] || d.status)),
        h("td.num", d.attempts),
        h("td.small", d.last_status ? `HTTP ${d.last_status}` : d.last_error || "—"),
        h("td.small", new Date(d.delivered_at || d.created_at).toLocaleString()),
        h("td", d.status === "pending" ? null : h("button.small", { type: "button", onclick: () => replay(d) }, d.status === "dead" ? "Replay" : "Send again")))))));
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
    return modal("Signing secret", (close) => {
      const code = h("code.secret", { "data-testid": "endpoint-secret" }, ep.secret);
      return h("div.stack",
        h("p", "Copy it now: it is shown only this once. Your system checks each request's Liveshop-Signature with it."),
        h("div.key-row", code, h("button.small", { type: "button", onclick: async () => {
          try {
            await navigator.clipboard.writeText(ep.secret);
            toast("Secret copied", "ok", 1500);
          } catch {
            toast("Copy failed: select the text and copy it by hand", "error");
          }
        } }, "Copy")),
        h("button.primary", { type: "button", onclick: () => close(true) }, "I saved it"));
    });
  }

  async function remove(ep) {
    const sure = await modal("Delete this endpoint?", (close) => h("div.stack",
      h("p", `${ep.url} stops hearing events; deliveries still retrying are dropped.`),
      h("div.row", h("button.danger", { type: "button", onclick: () => close(true) }, "Delete"), h("button", { type: "button", onclick: () => close(false) }, "Keep"))));
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
      toast("Sending again", "ok", 1500);
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
