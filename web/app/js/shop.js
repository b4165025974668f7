// The shop's settings in the console: its name, the default language of its pages and the default
// currency of new products (GET/PATCH /api/v1/shop; only the owner may change them).
import { api } from "./api.js";
import { h, fill, toast, field } from "./dom.js";
import { explain } from "./format.js";
import { t, lang, LANGUAGES } from "./i18n.js";

// Currencies offered in the picker; any ISO 4217 code the shop already has is offered too.
const CURRENCIES = ["KRW", "PLN", "USD", "EUR", "GBP", "JPY", "CZK", "CAD", "AUD"];

/** Mounts the settings page in `root`. */
export async function shopSettings(root, who) {
  document.title = t("shop.page_title");
  const shop = await api("GET", "/api/v1/shop", { token: who.token });
  const name = h("input#shop-name", { value: shop.name, required: true, maxlength: 100 });
  const language = h("select#shop-language", { "data-testid": "shop-language" },
    Object.entries(LANGUAGES).map(([code, label]) => h("option", { value: code, lang: code }, label)));
  language.value = shop.language;
  const names = new Intl.DisplayNames(lang(), { type: "currency" });
  const currencies = CURRENCIES.includes(shop.currency) ? CURRENCIES : [shop.currency, ...CURRENCIES];
  const currency = h("select#shop-currency", { "data-testid": "shop-currency" },
    currencies.map((code) => h("option", { value: code }, `${code} · ${names.of(code)}`)));
  currency.value = shop.currency;
  const save = h("button.primary", { type: "submit" }, t("common.save"));
  const error = h("p.error-text", { role: "alert", hidden: true });
  fill(root,
    h("h1", t("shop.title")),
    h("section.panel.stack.narrow",
      h("form.stack", {
        onsubmit: async (event) => {
          event.preventDefault();
          save.disabled = true;
          error.hidden = true;
          try {
            const body = { name: name.value.trim(), language: language.value, currency: currency.value };
            await api("PATCH", "/api/v1/shop", { token: who.token, body });
            toast(t("shop.saved"), "ok", 2500);
          } catch (e) {
            error.textContent = explain(e);
            error.hidden = false;
          } finally {
            save.disabled = false;
          }
        },
      },
      field(t("shop.name"), name),
      field(t("shop.language"), language, t("shop.language_hint")),
      field(t("shop.currency"), currency, t("shop.currency_hint")),
      error, save)));
}
