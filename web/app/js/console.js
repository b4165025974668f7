// The host console: sign in, the broadcast list, the studio page of one broadcast, the orders desk,
// the shop's webhooks and settings. Every page re-renders in the new language when the switch changes.
import { api, session } from "./api.js";
import { h, fill, $, toast, field } from "./dom.js";
import { explain, dateTime } from "./format.js";
import { t, languageSwitch, onLanguageChange, setShopLanguage } from "./i18n.js";
import { shopSettings } from "./shop.js";
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
    ? [link("/console", t("console.nav.broadcasts")), link("/console/orders", t("console.nav.orders")),
      link("/console/webhooks", t("console.nav.webhooks")), link("/console/shop", t("console.nav.shop")),
      h("span.muted.small", who.user.email), h("button.small.ghost", { type: "button", onclick: signOut }, t("console.sign_out"))]
    : []);
  $(".topbar .tagline").textContent = t("console.tagline");
  $("#account").setAttribute("aria-label", t("console.nav.account"));
}

function signOut() {
  session.clear("host");
  navigate("/console");
}

export function navigate(path) {
  history.pushState({}, "", path);
  route();
}

/** Shows the page the URL names; `relabel` (a change of language) keeps the studio's camera on air. */
async function route({ relabel = false } = {}) {
  if (leaveStudio) {
    leaveStudio({ relabel });
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
    } else if (location.pathname === "/console/shop") {
      await shopSettings(app, who);
    } else {
      await broadcastList(who);
    }
  } catch (error) {
    if (error.status === 401) return signOut();
    fill(app, h("p.notice.error", { role: "alert" }, explain(error)), h("button", { type: "button", onclick: () => route() }, t("common.retry")));
  }
  app.focus({ preventScroll: true });
}

function signIn() {
  document.title = t("console.sign_in.page_title");
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p.error-text", { role: "alert", hidden: true });
  const submit = h("button.primary", { type: "submit" }, t("console.sign_in.submit"));
  fill(app, h("section.panel.auth-card.stack",
    h("h1", t("console.sign_in.title")),
    h("p.muted", t("console.sign_in.lead")),
    h("form.stack", {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        try {
          const reply = await api("POST", "/api/v1/auth/login", { body: { email: email.value.trim(), password: password.value } });
          session.set("host", reply);
          route().then(shopLanguage);
        } catch (e) {
          error.textContent = explain(e);
          error.hidden = false;
          submit.disabled = false;
          password.select();
        }
      },
    }, field(t("console.sign_in.email"), email), field(t("console.sign_in.password"), password), error, submit),
  ));
  email.focus();
}

async function broadcastList(who) {
  document.title = t("console.broadcasts.page_title");
  const { items } = await api("GET", "/api/v1/broadcasts", { token: who.token });
  const title = h("input", { type: "text", required: true, maxlength: 200, placeholder: t("console.broadcasts.title_placeholder"), name: "title" });
  const create = h("form.row", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const b = await api("POST", "/api/v1/broadcasts", { token: who.token, body: { title: title.value.trim() } });
        toast(t("console.broadcasts.created"), "ok");
        navigate(`/console/broadcasts/${encodeURIComponent(b.id)}`);
      } catch (e) {
        toast(explain(e), "error");
      }
    },
  }, h("label.sr-only", { for: "new-title" }, t("console.broadcasts.title_label")), Object.assign(title, { id: "new-title" }), h("button.primary", { type: "submit" }, t("console.broadcasts.create")));
  title.classList.add("grow");
  title.style.width = "auto";

  const cards = items.map((b) => h("article.panel.broadcast-card",
    h("div.row.spread",
      h("span.badge", { class: b.status === "live" ? "live" : b.status === "ended" ? "ended" : "" }, t(`broadcast.status.${b.status}`)),
      h("span.muted.small", dateTime(b.created_at)),
    ),
    h("a.title", { href: `/console/broadcasts/${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, b.title),
    h("div.row",
      h("a.button.small", { href: `/console/broadcasts/${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname); } }, b.status === "ended" ? t("console.broadcasts.summary") : t("console.broadcasts.open_studio")),
      h("a.button.small.ghost", { href: `/console/orders?broadcast_id=${encodeURIComponent(b.id)}`, onclick: (e) => { e.preventDefault(); navigate(e.currentTarget.pathname + e.currentTarget.search); } }, t("console.nav.orders")),
      h("a.button.small.ghost", { href: b.watch_url, target: "_blank", rel: "noopener" }, t("console.broadcasts.watch_page")),
    ),
  ));
  fill(app,
    h("div.row.spread", { style: { marginBottom: "1rem" } }, h("h1", t("console.broadcasts.title")), create),
    items.length ? h("div.broadcasts", cards) : h("p.muted", t("console.broadcasts.empty")),
  );
}

/** The shop's default language speaks when the browser asked for none of ours. */
async function shopLanguage() {
  const who = host();
  if (!who) return;
  try {
    await setShopLanguage((await api("GET", "/api/v1/shop", { token: who.token })).language);
  } catch {
    /* English, or the browser's, stays */
  }
}

$(".topbar").insertBefore(languageSwitch(), $("#account"));
onLanguageChange(() => route({ relabel: true }));
window.addEventListener("popstate", () => route());
installApp();
route().then(shopLanguage);
