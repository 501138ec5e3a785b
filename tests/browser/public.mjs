// The network coordinator's public pages in Debian's headless Chromium,
// driven by tests/e2e/admin_browser.rs (which starts `gazette serve` with
// `network.home` and seeds members and their articles). The shared feed
// (the home page), its filter bar, chips and search, a member's page and
// the "About the network" page, each checked with axe-core (no serious or
// critical WCAG 2.1 A/AA violation) in Dutch (chosen by the browser's
// Accept-Language), English, German and French (chosen with the switch,
// then remembered), and photographed into --screenshots.
//
// Usage: node public.mjs --base URL --member HANDLE --screenshots DIR --profile DIR
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol: the Content-Security-Policy refuses inline script.
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const opts = {};
for (let i = 2; i < process.argv.length; i += 2) {
  opts[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
for (const k of ["base", "member", "screenshots", "profile"]) {
  if (!opts[k]) throw new Error(`missing --${k}`);
}
mkdirSync(opts.screenshots, { recursive: true });

const checked = [];
let currentStep = "start";
function step(name) {
  currentStep = name;
  console.log(JSON.stringify({ step: name }));
}
// As in admin.mjs: every wait has its own timeout, and the whole run gets
// four minutes (it takes seconds), then fails naming its step.
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: `watchdog: still running after 240 s, at step: ${currentStep}`, audited: checked }));
  process.exit(3);
}, 240_000);
function expect(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

const context = await chromium.launchPersistentContext(opts.profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  // A Dutch reader: the first page comes in Dutch by Accept-Language.
  locale: "nl-NL",
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(15000);
context.setDefaultNavigationTimeout(15000);
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15000);
const blocked = [];
page.on("console", (msg) => {
  if (/Content Security Policy/i.test(msg.text())) blocked.push(`${page.url()}: ${msg.text()}`);
});

/** Runs axe-core on the page: no serious or critical violation allowed. */
async function audit(name) {
  if (blocked.length) throw new Error(`blocked by the Content-Security-Policy (${name}):\n  ${blocked.join("\n  ")}`);
  await page.evaluate(AXE);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  checked.push({ page: name, url: page.url(), violations: result.violations.length, serious: bad.length });
  if (bad.length) {
    const detail = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    throw new Error(`axe on ${name} (${page.url()}):\n  ${detail.join("\n  ")}`);
  }
  await page.screenshot({ path: join(opts.screenshots, `public-${name}.png`), fullPage: true });
}

async function text() {
  return page.locator("body").innerText();
}

/** Follows the language switch to `lang`. */
async function switchTo(lang) {
  await Promise.all([page.waitForLoadState(), page.click(`.lang-switch a[hreflang='${lang}']`)]);
  expect((await page.getAttribute("html", "lang")) === lang, `the page in ${lang}, got ${await page.getAttribute("html", "lang")}`);
}

try {
  step("the home page is the shared feed, in Dutch by Accept-Language");
  await page.goto(`${opts.base}/`);
  expect((await page.getAttribute("html", "lang")) === "nl", "a Dutch page");
  expect((await text()).includes("Gedeelde feed"), "the Dutch menu");
  expect(await page.isVisible("h1:has-text('European SSE Network')"), "the network's name heads the page");
  expect((await page.locator("ol.cards > li").count()) === 4, "four articles");
  await audit("feed-nl");

  step("English by the switch; facets with counts, a filter, its chip");
  await switchTo("en");
  expect((await text()).includes("Shared feed"), "the English menu");
  const options = await page.locator("#ff-country option").allInnerTexts();
  expect(options.some((o) => o.includes("(3)")) && options.some((o) => o.includes("(1)")), `country counts, got ${options}`);
  await page.selectOption("#ff-country", "BE");
  await Promise.all([page.waitForLoadState(), page.click(".feed-filters button[type=submit]")]);
  expect((await page.locator("ol.cards > li").count()) === 3, "three Belgian articles");
  expect(await page.isVisible(".chip:has-text('Country: BE')"), "the country chip");
  const atom = await page.getAttribute("a[type='application/atom+xml'].feed-link", "href");
  expect(atom === "/network/feed.atom?country=BE", `the Atom view keeps the filter, got ${atom}`);
  await audit("feed-filtered-en");

  step("a search, highlighted, then a chip removed");
  await page.fill("#ff-q", "solar");
  await Promise.all([page.waitForLoadState(), page.click(".feed-filters button[type=submit]")]);
  expect((await page.locator("mark").count()) >= 1, "the matched word is highlighted");
  expect((await page.locator(".chip").count()) === 3, "search and country chips, and clear");
  await audit("feed-search-en");
  await Promise.all([page.waitForLoadState(), page.click(".chip:has-text('Country: BE')")]);
  expect(!page.url().includes("country="), `the country filter removed, got ${page.url()}`);
  expect(page.url().includes("q=solar"), "the search kept");

  step("German, remembered from page to page: the about page");
  await switchTo("de");
  await page.goto(`${opts.base}/network/about`);
  expect((await page.getAttribute("html", "lang")) === "de", "German remembered");
  expect((await text()).includes("Dem Netzwerk folgen"), "the about page in German");
  expect((await text()).includes("@network@"), "the network's handle to follow");
  await audit("about-de");

  step("French: a member's page and the members' list");
  await switchTo("fr");
  await page.goto(`${opts.base}/network/members/${opts.member}`);
  expect((await page.getAttribute("html", "lang")) === "fr", "French remembered");
  expect((await text()).includes("Coopérative"), "the legal form in French");
  expect((await page.locator("ol.cards > li").count()) >= 1, "its latest articles");
  await audit("member-fr");
  await page.goto(`${opts.base}/network/members`);
  await audit("members-fr");
  await page.goto(`${opts.base}/?kind=interview`);
  expect((await text()).includes("Filtres actifs"), "the chips in French");
  await audit("feed-filtered-fr");

  console.log(JSON.stringify({ ok: true, audited: checked }));
  clearTimeout(watchdog);
  await context.close();
} catch (e) {
  await page.screenshot({ path: join(opts.screenshots, "public-failure.png"), fullPage: true }).catch(() => {});
  console.log(JSON.stringify({ ok: false, error: String(e.stack || e), url: page.url(), audited: checked }));
  await context.close();
  process.exit(1);
}
