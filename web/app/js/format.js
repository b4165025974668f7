// Money, time and error wording shared by the console and the watch page.

const formats = new Map();
function moneyFormat(currency) {
  if (!formats.has(currency)) {
    formats.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formats.get(currency);
}

/** Digits after the decimal point for a currency (2 for USD, 0 for JPY). */
export function minorDigits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

/** 1999, "USD" -> "$19.99" */
export function money(minor, currency = "USD") {
  return moneyFormat(currency).format(minor / 10 ** minorDigits(currency));
}

/** "19.99", "USD" -> 1999 (NaN when it is not a number) */
export function toMinor(text, currency = "USD") {
  const value = Number(String(text).replace(",", ".").trim());
  if (!Number.isFinite(value) || value < 0) return NaN;
  return Math.round(value * 10 ** minorDigits(currency));
}

export function toMajor(minor, currency = "USD") {
  return (minor / 10 ** minorDigits(currency)).toFixed(minorDigits(currency));
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

const MESSAGES = {
  sold_out: "Sold out — every unit has been claimed.",
  limit_exceeded: "You have reached the per-buyer limit for this offer.",
  offer_ended: "This offer has ended.",
  reservation_expired: "Your hold expired and the units went back. Try again while stock lasts.",
  checkout_in_progress: "This order is already being placed — one moment.",
  banned: "You cannot buy or chat in this broadcast.",
  rate_limited: "Slow down a little and try again in a moment.",
  slow_mode: "Slow mode is on: wait a few seconds between messages.",
  timed_out: "You are timed out from chat for a while.",
  blocked_word: "That message contains a word the host has blocked.",
  invalid_credentials: "Wrong email or password.",
  invalid_token: "Your session expired; sign in again.",
  unauthorized: "Please sign in first.",
  insufficient_stock: "Not enough stock on the shelf for that quantity.",
  broadcast_ended: "The broadcast has ended.",
  offer_active: "An offer for this product is already running.",
  sku_exists: "A product with this SKU already exists.",
  service_unavailable: "The shop is busy; retry in a moment.",
  message_empty: "Type a message first.",
  message_too_long: "That message is too long.",
  not_joined: "Still connecting to the chat — try again in a second.",
  network: "Network problem — check your connection and retry.",
  payment_unavailable: "The payment service is not answering. Your items stay held — try again in a moment.",
  card_declined: "Your card was declined.",
  payment_declined: "Your card was declined.",
  insufficient_funds: "Your card has insufficient funds.",
  authentication_failed: "Your bank could not confirm the payment.",
  not_refundable: "This order cannot be refunded in its current state.",
};

/** A sentence a person can act on, for an ApiError or a room error {code, detail}. */
export function explain(error) {
  if (!error) return "Something went wrong.";
  if (error.code === "validation_error") return error.detail || "Please check the form.";
  return MESSAGES[error.code] || error.detail || error.message || "Something went wrong.";
}
