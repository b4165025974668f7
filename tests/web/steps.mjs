// Page steps several browser scripts take the same way: the host's sign-in, a viewer's nickname, the
// checkout sheet. One version here, so a change to those pages is followed in one place.
import { T } from "./launch.mjs";

/** Signs the host in on /console and waits for the broadcast list. */
export async function signIn(page, email, password) {
  await page.goto("/console");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your broadcasts" }).waitFor({ timeout: T });
}

/**
 * Answers the "Pick a nickname" dialog a viewer's first buy, bid or chat line opens. `closed`: also waits
 * for the dialog to go, for a step that must not race it.
 */
export async function nickname(page, name, { closed = false } = {}) {
  const dialog = page.getByRole("dialog", { name: "Pick a nickname" });
  await dialog.getByLabel("Nickname").fill(name);
  await dialog.getByRole("button", { name: "Continue" }).click();
  if (closed) await dialog.waitFor({ state: "detached", timeout: T });
}

/** Fills the checkout sheet's buyer: full name, email and shipping address. */
export async function fillBuyer(sheet, { name, email, address }) {
  await sheet.getByLabel("Full name").fill(name);
  await sheet.getByLabel("Email").fill(email);
  await sheet.getByLabel("Shipping address").fill(address);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Places the order from a filled checkout sheet; when the shop takes money online (the demo's payment
 * sandbox) pays with the test card. Resolves with the order number once the confirmation shows.
 * `amount` (e.g. "$8.00"): the total the order and pay buttons must show before they are pressed.
 */
export async function placeOrder(sheet, { amount } = {}) {
  const button = amount ? new RegExp(`(Place order|Continue to payment) · ${escape(amount)}`) : /Place order|Continue to payment/;
  await sheet.getByRole("button", { name: button }).click();
  const form = sheet.getByTestId("payment-element");
  const done = sheet.getByTestId("confirmation");
  await Promise.race([form.waitFor({ timeout: T }), done.waitFor({ timeout: T })]);
  if (await form.isVisible()) {
    if (amount) await sheet.getByTestId("pay-button").filter({ hasText: amount }).waitFor({ timeout: T });
    await sheet.getByLabel("Card number").fill("4242 4242 4242 4242");
    await sheet.getByTestId("pay-button").click();
    await done.waitFor({ timeout: T });
  }
  return (await sheet.getByTestId("order-number").textContent({ timeout: T })).trim();
}
