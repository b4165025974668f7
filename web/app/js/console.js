// The host console: sign in, the broadcast list, the studio page of one broadcast, the orders desk and
// the shop's webhooks.
import { api, session } from "./api.js";
import { h, fill, $, toast, field } from "./dom.js";
import { explain } from "./format.js";
import { studio } from "./studio.js";
import { ordersDesk } from "./orders.js";
import { reportPage } from "./report.js";
import { webhooksPage } from "./webhooks.js";
import { installApp } from "./pwa.js";

const app = $("#app");
let leaveStudio = null;

function host() {
  return session.get("host");
}

function renderAccount() {
  const who = host();
  const link = (path, label) => h("a.button.small.ghost", {
    href: path,
    "aria-current": location.pathname === path ? "page" : false,
    onclick: (e) => {
      e.preventDefault();
      navigate(path);
    },
  }, label);
  fill($("#account"), who
    ? [link("/console", "Broadcasts"), link("/console/orders", "Orders"), link("/console/webhooks", "Webhooks"),
      h("span.muted.small", who.user.email), h("button.small.ghost", { type: "button", onclick: signOut }, "Sign out")]
    : []);
}

function signOut() {
  session.clear("host");
  navigate("/console");
}

export function navigate(path) {
  history.pushState({}, "", path);
  route();
}

async function route() {
  if (leaveStudio) {
    leaveStudio();
    leaveStudio = null;
  }
  renderAccount();
  const who = host();
  if (!who) return signIn();
  const match = location.pathname.match(/^\/console\/broadcasts\/([^/]+)$/);
  const reportOf = location.pathname.match(/^\/console\/broadcasts\/([^/]+)\/report$/);
  try {
    if (reportOf) {
      leaveStudio = await reportPage(app, decodeURIComponent(reportOf[1]), who, { navigate });
    } else if (match) {
      leaveStudio = await studio(app, decodeURIComponent(match[1]), who, { navigate, onAuthError: signOut });
    } else if (location.pathname === "/console/orders") {
      leaveStudio = await ordersDesk(app, who, { navigate });
    } else if (location.pathname === "/console/webhooks") {
      leaveStudio = await webhooksPage(app, who, { navigate });
    } else {
      await broadcastList(who);
    }
  } catch (error) {
    if (error.status === 401) return signOut();
    fill(app, h("p.notice.error", { role: "alert" }, explain(error)), h("button", { type: "button", onclick: route }, "Retry"));
  }
  app.focus({ preventScroll: true });
}

function signIn() {
  document.title = "Sign in · liveshop console";
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p.error-text", { role: "alert", hidden: true });
  const submit = h("button.primary", { type: "submit" }, "Sign in");
  fill(app, h("section.panel.auth-card.stack",
    h("h1", "Host sign in"),
    h("p.muted", "Run your live shows: go live, pin products, launch flash offers."),
    h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        try {
          const reply = await api("POST", "/api/v1/auth/login", { body: { email: email.value.trim(), password: password.value } });
          session.set("host", reply);
          route();
        } catch (e) {
          error.textContent = explain(e);
          error.hidden = false;
          submit.disabled = false;
          password.select();
        }
      },
    }, field("Email", email), field("Password", password), error, submit),
  ));
  email.focus();
}

async function broadcastList(who) {
  document.title = "Broadcasts · liveshop console";
  const { items } = await api("GET", "/api/v1/broadcasts", { token: who.token });
  const title = h("input", { type: "text", required: true, maxlength: 200, placeholder: "e.g. Sneaker Sunday", name: "title" });
  const create = h("form.row", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const b = await api("POST", "/api/v1/broadcasts", { token: who.token, body: { title: title.value.trim() } });
        toast("Broadcast created", "ok");
        navigate(`/console/broadcasts/${encodeURIComponent(b.id)}`);
      } catch (e) {
        toast(explain(e), "error");
      }
    },
  }, h("label.sr-only", { for: "new-title" }, "New broadcast title"), Object.assign(title, { id: "new-title" }), h("button.primary", { type: "submit" }, "Create broadcast"));
  title.classList.add("grow");
  title.style.width = "auto";

  const cards = items.map((b) => h("article.panel.broadcast-card",
    h("div.row.spread",
      h("span.badge", { class: b.status === "live" ? "live" : b.status === "ended" ? "ended" : "" }, b.status === "live" ? "Live" : b.status),
      h("span.muted.small", new Date(b.created_at).toLocaleString()),
    ),
    h("a.title", { href: `/console/broadcasts/${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, b.title),
    h("div.row",
      h("a.button.small", { href: `/console/broadcasts/${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, b.status === "ended" ? "Summary" : "Open studio"),
      h("a.button.small.ghost", { href: `/console/orders?broadcast_id=${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname + e.currentTarget.search); } }, "Orders"),
      h("a.button.small.ghost", { href: b.watch_url, target: "_blank", rel: "noopener" }, "Watch page ↗"),
    ),
  ));
  fill(app,
    h("div.row.spread", { style: { marginBottom: "1rem" } }, h("h1", "Your broadcasts"), create),
    items.length ? h("div.broadcasts", cards) : h("p.muted", "No broadcasts yet: create one to open its studio."),
  );
}

window.addEventListener("popstate", route);
installApp();
route();
