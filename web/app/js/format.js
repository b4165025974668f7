// Money, numbers, dates, countdowns and error wording of both pages, in the page's language (i18n.js).
import { lang, t, has } from "./i18n.js";

const formats = new Map();
/** An Intl formatter for the page's language, made once per (kind, language, options). */
function cached(kind, options, make) {
  const key = `${kind}|${lang()}|${JSON.stringify(options)}`;
  if (!formats.has(key)) formats.set(key, make(lang(), options));
  return formats.get(key);
}
const moneyFormat = (currency) => cached("money", { style: "currency", currency }, (l, o) => new Intl.NumberFormat(l, o));

/** Digits after the decimal point for a currency (2 for USD, 0 for KRW and JPY). */
export function minorDigits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

/** 1999, "USD" -> "$19.99" (en), "19,99 USD" (pl); 12000, "KRW" -> "₩12,000" (ko). */
export function money(minor, currency = "USD") {
  return moneyFormat(currency).format(minor / 10 ** minorDigits(currency));
}

/** A plain number the language's way: 12000 -> "12,000" (en, ko), "12 000" (pl). */
export function number(value, options = {}) {
  return cached("number", options, (l, o) => new Intl.NumberFormat(l, o)).format(value);
}

/** A share 0..1 as "12.5%" / "12,5%". */
export function percent(share, digits = 1) {
  return number(share, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function separators() {
  const parts = cached("number", {}, (l, o) => new Intl.NumberFormat(l, o)).formatToParts(12345.6);
  return {
    group: (parts.find((p) => p.type === "group") || { value: "," }).value,
    decimal: (parts.find((p) => p.type === "decimal") || { value: "." }).value,
  };
}

/** "19.99" (en) or "19,99" / "12 000,50" (pl), "USD" -> 1999 (NaN when it is not a number). */
export function toMinor(text, currency = "USD") {
  const { group, decimal } = separators();
  let clean = String(text).trim().replace(/[\s\u00a0\u202f]/g, "");
  if (group.trim()) clean = clean.split(group).join("");
  clean = clean.replace(decimal, ".").replace(",", ".");
  if (!/^\d*\.?\d*$/.test(clean) || !/\d/.test(clean)) return NaN;
  const value = Number(clean);
  if (!Number.isFinite(value) || value < 0) return NaN;
  return Math.round(value * 10 ** minorDigits(currency));
}

/** Minor units as the text a price field shows and toMinor reads back ("19.99", "19,99"). */
export function toMajor(minor, currency = "USD") {
  const digits = minorDigits(currency);
  return number(minor / 10 ** digits, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
}

/** An ISO time (or epoch ms) as a date and time: "Dec 1, 2026, 12:30 PM" / "2026. 12. 1. 오후 12:30". */
export function dateTime(when, options = { dateStyle: "medium", timeStyle: "short" }) {
  return cached("date", options, (l, o) => new Intl.DateTimeFormat(l, o)).format(new Date(when));
}

/** The time of day only: "12:30:05 PM" / "12:30:05". */
export function timeOfDay(when) {
  return dateTime(when, { timeStyle: "medium" });
}

/** Seconds from now as words: -90 -> "2 minutes ago", 30 -> "in 30 seconds" (and "za 30 sekund"). */
export function relative(seconds) {
  const rtf = cached("relative", { numeric: "auto" }, (l, o) => new Intl.RelativeTimeFormat(l, o));
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(Math.round(seconds), "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

/** Seconds -> "1:05" or "1:02:03" */
export function clock(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** Seconds left until an ISO time, using the server clock offset measured at load. */
export function secondsUntil(iso) {
  return (Date.parse(iso) - now()) / 1000;
}

let skewMs = 0;
/**
 * Call with a Date header: countdowns then follow the server's clock when the device's is clearly off.
 * The header has 1 s resolution, so differences under 2 s are noise and are ignored (no jitter).
 */
export function setServerTime(dateHeader) {
  const server = Date.parse(dateHeader || "");
  if (!Number.isFinite(server)) return;
  const diff = server + 500 - Date.now();
  if (Math.abs(diff) > 2000 && Math.abs(diff - skewMs) > 1000) skewMs = diff;
  else if (Math.abs(diff) <= 2000) skewMs = 0;
}
export const now = () => Date.now() + skewMs;

/**
 * A sentence a person can act on, in the page's language, for an ApiError or a room error {code, detail}:
 * the catalog's `error.<code>` (every code of server/errors.py has one), else the server's detail.
 */
export function explain(error) {
  if (!error) return t("error.unknown");
  if (error.code === "validation_error" && error.field) return t("error.validation_error_field", { field: error.field });
  if (error.code && has(`error.${error.code}`)) return t(`error.${error.code}`, { ...(error.problem || {}), ...error });
  return error.detail || error.message || t("error.unknown");
}
