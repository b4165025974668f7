// The chat panel of both pages. Messages are rendered as text; the host's copy adds moderation buttons.
import { h, fill } from "./dom.js";
import { explain } from "./format.js";
import { t } from "./i18n.js";

const MAX_LINES = 200;

/**
 * chatPanel({send(text) -> Promise<ack>, moderate?(action, msg), ensureUser?() -> Promise<bool>, hostId?})
 * -> {el, add(messages), remove(id), system(text), setEnabled(bool, why)}
 */
export function chatPanel({ send, moderate, ensureUser, hostId, label = t("chat.message") }) {
  // focusable, so a keyboard can scroll back through it (axe: scrollable-region-focusable)
  const log = h("ol.chat-log", { "aria-live": "polite", "aria-label": t("chat.messages"), tabindex: 0, "data-testid": "chat-log" });
  const input = h("input", { type: "text", maxlength: 500, placeholder: t("chat.placeholder"), "aria-label": label, autocomplete: "off" });
  const button = h("button.primary", { type: "submit" }, t("chat.send"));
  const error = h("p.error-text.small", { role: "alert", hidden: true });
  const seen = new Set();

  const form = h("form.chat-form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (ensureUser && !(await ensureUser())) return;
      button.disabled = true;
      error.hidden = true;
      const ack = await send(text);
      button.disabled = false;
      if (ack && ack.error) {
        error.textContent = explain(ack.error);
        error.hidden = false;
      } else {
        input.value = "";
        if (ack && ack.message) add([ack.message]);
      }
      input.focus();
    },
  }, input, button);

  function line(msg) {
    const role = msg.user && msg.user.role;
    const isHost = role === "host" || (hostId && msg.user && msg.user.id === hostId);
    const li = h("li", { dataset: { id: msg.id || "" } },
      h("span.who", { class: isHost ? "host" : "" }, (msg.user && msg.user.nickname) || t("chat.someone")),
      isHost ? h("span.badge.host", t("chat.host")) : null,
      h("span.text", msg.text),
    );
    if (moderate && !isHost && msg.user) {
      li.append(h("span.mod",
        h("button.small.ghost", { type: "button", "aria-label": t("chat.delete_from", { name: msg.user.nickname }), onclick: () => moderate("delete", msg) }, t("common.delete")),
        h("button.small.ghost", { type: "button", "aria-label": t("chat.timeout_who", { name: msg.user.nickname }), onclick: () => moderate("timeout", msg) }, t("chat.timeout")),
        h("button.small.danger", { type: "button", "aria-label": t("chat.ban_who", { name: msg.user.nickname }), onclick: () => moderate("ban", msg) }, t("chat.ban")),
      ));
    }
    return li;
  }

  function add(messages) {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    for (const msg of messages) {
      if (msg.id && seen.has(msg.id)) continue;
      if (msg.id) seen.add(msg.id);
      log.append(line(msg));
    }
    while (log.children.length > MAX_LINES) log.firstElementChild.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  return {
    el: h("div.chat", log, error, form),
    add,
    remove(id) {
      for (const li of log.children) if (li.dataset.id === id) li.remove();
    },
    removeUser(userId) {
      // used after a ban: the server may also send chat_deleted per message
      void userId;
    },
    system(text) {
      log.append(h("li.system", text));
      log.scrollTop = log.scrollHeight;
    },
    setEnabled(enabled, why = "") {
      input.disabled = !enabled;
      button.disabled = !enabled;
      input.placeholder = enabled ? t("chat.placeholder") : why;
    },
    clear() {
      fill(log);
      seen.clear();
    },
  };
}
