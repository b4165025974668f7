// The pages' languages: one catalog per language (web/app/i18n/<code>.json), one function t(key, vars).
// How to add a string, and how the language is chosen: docs/i18n.md.
//
// Choice, first that applies: ?lang= in the URL, the switch (kept in localStorage), the browser's
// languages (navigator.languages, first of ours), the shop's default (setShopLanguage), English.
// A key missing from a catalog falls back to English, then to the key itself (so a gap shows, not breaks).

export const LANGUAGES = {
  en: "English",
  ko: "한국어",
  pl: "Polski",
};
export const FALLBACK = "en";
const STORAGE_KEY = "liveshop.lang";

const catalogs = new Map();
const listeners = new Set();
let current = FALLBACK;
let chosenBy = "fallback"; // url | switch | browser | shop | fallback
let plurals = new Intl.PluralRules(FALLBACK);
let numbers = new Intl.NumberFormat(FALLBACK);

async function load(code) {
  if (!catalogs.has(code)) {
    const reply = await fetch(`/app/i18n/${code}.json`, { headers: { Accept: "application/json" } });
    if (!reply.ok) throw new Error(`no catalog for ${code} (HTTP ${reply.status})`);
    catalogs.set(code, await reply.json());
  }
  return catalogs.get(code);
}

/** The first of navigator.languages we speak ("ko-KR" -> "ko"), or null. */
export function browserLanguage(languages = navigator.languages || [navigator.language]) {
  for (const tag of languages || []) {
    const code = String(tag || "").toLowerCase().split("-")[0];
    if (code in LANGUAGES) return code;
  }
  return null;
}

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage off (private mode, sandboxed frame)
  }
}

function initial() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  if (fromUrl && fromUrl in LANGUAGES) return [fromUrl, "url"];
  const saved = stored();
  if (saved && saved in LANGUAGES) return [saved, "switch"];
  const browser = browserLanguage();
  if (browser) return [browser, "browser"];
  return [FALLBACK, "fallback"];
}

/** The language the page speaks now ("en", "ko", "pl"): also the locale of Intl formats. */
export const lang = () => current;

async function apply(code, by) {
  await Promise.all([load(FALLBACK), load(code)]);
  const changed = code !== current;
  current = code;
  chosenBy = by;
  plurals = new Intl.PluralRules(code);
  numbers = new Intl.NumberFormat(code);
  document.documentElement.lang = code;
  if (changed) for (const fn of [...listeners]) fn(code);
}

/** The switch: speak `code` from now on, on every page of this browser. */
export async function setLanguage(code) {
  if (!(code in LANGUAGES)) return;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    /* kept for this page only */
  }
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.delete("lang"); // the switch wins over a shared link's ?lang= from now on
    history.replaceState(history.state, "", url);
  }
  await apply(code, "switch");
}

/** The shop's default language: used only when neither the URL, the switch nor the browser chose one. */
export async function setShopLanguage(code) {
  if (code in LANGUAGES && (chosenBy === "fallback" || chosenBy === "shop")) await apply(code, "shop");
}

/** Runs `fn(code)` after every change of language (pages re-render); returns a function that stops it. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function lookup(key) {
  const mine = catalogs.get(current);
  if (mine && key in mine) return mine[key];
  const base = catalogs.get(FALLBACK);
  if (base && key in base) return base[key];
  return key;
}

/**
 * The text of `key` in the page's language, with {name} placeholders filled from `vars`.
 * A plural entry is an object of Intl.PluralRules categories ({one, few, many, other}); `vars.count`
 * picks the form. Numbers in vars are written the language's way (12 000, 12,000).
 */
export function t(key, vars = {}) {
  let text = lookup(key);
  if (text && typeof text === "object") {
    const n = Number(vars.count ?? 0);
    text = text[plurals.select(n)] ?? text.other ?? Object.values(text)[0];
  }
  return String(text).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in vars)) return whole;
    const value = vars[name];
    return typeof value === "number" ? numbers.format(value) : String(value);
  });
}

/** Whether a catalog has the key (in this language or English): for optional wording such as codes. */
export function has(key) {
  return lookup(key) !== key;
}

/** A visible, labelled <select> of our languages that switches the page. */
export function languageSwitch() {
  const select = document.createElement("select");
  select.className = "lang-switch";
  select.setAttribute("aria-label", t("common.language"));
  select.dataset.testid = "language-switch";
  for (const [code, name] of Object.entries(LANGUAGES)) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = name;
    select.append(option);
  }
  select.value = current;
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange((code) => {
    select.value = code;
    select.setAttribute("aria-label", t("common.language"));
  });
  return select;
}

// Ready before any page module runs: importers may call t() at once (top-level await).
{
  const [code, by] = initial();
  try {
    await apply(code, by);
  } catch {
    await apply(FALLBACK, "fallback").catch(() => {});
  }
}
