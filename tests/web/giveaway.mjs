// A giveaway in a real browser: the host starts one in the studio, one viewer enters with the button
// on the watch page and another with the chat keyword, the host closes it (every page shows the same
// list hash) and draws; the room sees the winner, the winner alone is told they won.
//
//   node tests/web/giveaway.mjs --base URL --email E --password P
import { args, launch, report, rest, T } from "./launch.mjs";
import { nickname, signIn } from "./steps.mjs";

const BASE = args.base;
const r = report({ csp: true });
const { info } = r;
const browser = await launch();

const page = (who) => r.open(browser, who, { baseURL: BASE, viewport: { width: 1440, height: 900 } });

async function run() {
  const host = await page("host");
  if (!(await r.check("host signs in and opens a new broadcast's studio", async () => {
    await signIn(host, args.email, args.password);
    const title = `Giveaway night ${Date.now().toString(36)}`;
    await host.getByLabel("New broadcast title").fill(title);
    await host.getByRole("button", { name: "Create broadcast" }).click();
    await host.getByRole("heading", { name: title }).waitFor({ timeout: T });
    info.broadcast_id = decodeURIComponent(new URL(host.url()).pathname.split("/").pop());
    return info.broadcast_id;
  }))) return;
  const studio = host.getByTestId("giveaway-studio");
  if (!(await r.check("host starts a giveaway with the keyword WIN", async () => {
    await studio.getByLabel("Giveaway product").locator("option").first().waitFor({ state: "attached", timeout: T });
    await studio.getByLabel("Chat keyword").fill("WIN");
    await studio.getByTestId("giveaway-start").click();
    await studio.getByText("Entries open").waitFor({ timeout: T });
  }))) return;

  const ada = await page("Ada");
  const bob = await page("Bob");
  await ada.goto(`/watch/${info.broadcast_id}`);
  await bob.goto(`/watch/${info.broadcast_id}`);
  const adaCard = ada.getByTestId("giveaway");
  const bobCard = bob.getByTestId("giveaway");

  await r.check("a viewer enters with the Enter giveaway button", async () => {
    await adaCard.getByTestId("giveaway-enter").click();
    await nickname(ada, "Ada");
    await adaCard.getByRole("button", { name: /You're in/ }).waitFor({ timeout: T });
    return await adaCard.getByTestId("giveaway-enter").textContent();
  });
  await r.check("another viewer enters by typing the keyword in chat", async () => {
    await bobCard.waitFor({ timeout: T });
    await bob.getByLabel("Chat message", { exact: true }).fill("win");
    await bob.getByRole("button", { name: "Send" }).click();
    await nickname(bob, "Bob");
    await bobCard.getByRole("button", { name: /You're in/ }).waitFor({ timeout: T });
  });
  await r.check("the studio's entrant count follows live", async () => {
    await studio.getByTestId("giveaway-studio-count").filter({ hasText: "2" }).waitFor({ timeout: T });
  });
  await r.check("closing shows the same frozen list hash in the studio and on the watch pages", async () => {
    await studio.getByTestId("giveaway-close").click();
    const shown = await studio.getByTestId("giveaway-hash").textContent({ timeout: T });
    for (const card of [adaCard, bobCard]) {
      await card.getByTestId("giveaway-hash").filter({ hasText: shown }).waitFor({ timeout: T });
      await card.getByTestId("giveaway-status").filter({ hasText: "Entries closed" }).waitFor({ timeout: T });
    }
    if (!/^[0-9a-f]{64}$/.test(shown)) throw new Error(`not a SHA-256: ${shown}`);
    info.hash = shown;
    return shown;
  });
  await r.check("the draw shows the winner in the studio and in the room; the winner alone is told", async () => {
    await studio.getByTestId("giveaway-draw").click();
    const line = await studio.getByTestId("giveaway-studio-winner").textContent({ timeout: T });
    const winner = /Ada/.test(line) ? "Ada" : "Bob";
    const [winnerPage, other] = winner === "Ada" ? [adaCard, bobCard] : [bobCard, adaCard];
    await winnerPage.getByTestId("giveaway-winner").filter({ hasText: "You won" }).waitFor({ timeout: T });
    await other.getByTestId("giveaway-winner").filter({ hasText: `Winner: ${winner}` }).waitFor({ timeout: T });
    await other.getByTestId("giveaway-seed").waitFor({ timeout: T });
    return line;
  });
  await r.check("the published draw checks out against its list and seed", async () => {
    const g = await rest(BASE, "GET", `/api/v1/broadcasts/${info.broadcast_id}/giveaways`);
    const full = await rest(BASE, "GET", `/api/v1/giveaways/${g.items[0].id}`);
    if (full.entrants_hash !== info.hash || full.entrants.length !== 2 || !full.winner.order_id) throw new Error(JSON.stringify(full));
    return full.winner.nickname;
  });
}

await r.run(browser, run);
