// End-to-end test of Gazette's admin in Debian's headless Chromium, driven
// by tests/admin_browser.rs (which starts `gazette serve` and creates the
// users). Every admin page visited is checked with axe-core (no serious or
// critical WCAG 2.1 A/AA violation) and photographed into --screenshots.
//
// Usage: node admin.mjs --base URL --user NAME --password PW
//          --writer NAME --writer-password PW --editor NAME --editor-password PW
//          --slug SLUG --org USERNAME --image FILE --not-image FILE --screenshots DIR --profile DIR
// Covers the image library (/admin/media), images inserted into an article's
// text (the plain form and the toolbar's script), the organisation's logo,
// and the one-time link mailed on invitation (tests/admin_browser.rs runs
// an SMTP listener on loopback and checks the mail).
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol rather than added as a <script>:
// the pages' Content-Security-Policy (rightly) refuses inline script.
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const opts = {};
for (let i = 2; i < process.argv.length; i += 2) {
  opts[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
for (const k of ["base", "user", "password", "writer", "writer-password", "editor", "editor-password", "slug", "org", "image", "not-image", "screenshots", "profile"]) {
  if (!opts[k]) throw new Error(`missing --${k}`);
}
mkdirSync(opts.screenshots, { recursive: true });

const checked = [];
let currentStep = "start";
function step(name) {
  currentStep = name;
  console.log(JSON.stringify({ step: name }));
}
// Every wait below has its own timeout, but a browser that stops answering
// could still hold one forever: the whole run gets four minutes (it takes
// under one), then fails naming the step it was on.
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
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
  locale: "en-GB",
  viewport: { width: 1280, height: 900 },
});
// Every page of the context, tabs opened later included, gives up after 15 s.
context.setDefaultTimeout(15000);
context.setDefaultNavigationTimeout(15000);
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15000);
// Whatever the Content-Security-Policy blocked (inline script or style, a
// script from elsewhere) would break the page: each one fails the test.
const blocked = [];
page.on("console", (msg) => {
  if (/Content Security Policy/i.test(msg.text())) blocked.push(`${page.url()}: ${msg.text()}`);
});
function expectNothingBlocked(where) {
  if (blocked.length) throw new Error(`blocked by the Content-Security-Policy (${where}):\n  ${blocked.join("\n  ")}`);
}

/** Runs axe-core on the page: no serious or critical violation allowed. */
async function audit(name) {
  expectNothingBlocked(name);
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
  await page.screenshot({ path: join(opts.screenshots, `${name}.png`), fullPage: true });
}

async function text() {
  return page.locator("body").innerText();
}

async function signIn(user, password) {
  await page.goto(`${opts.base}/admin/login`);
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForLoadState(), page.click("button[type=submit] >> text=Sign in")]);
}

try {
  step("the admin asks to sign in");
  await page.goto(`${opts.base}/admin/articles`);
  expect(page.url().includes("/admin/login?next="), `redirect to the sign-in page, got ${page.url()}`);
  await audit("login");

  step("a wrong password is refused with a clear message, the username kept");
  await page.fill("#username", opts.user);
  await page.fill("#password", "not the password at all");
  await page.click("button[type=submit]");
  expect((await text()).includes("Wrong username or password"), "the wrong-password message");
  expect((await page.inputValue("#username")) === opts.user, "the username is kept");
  await audit("login-wrong-password");

  step("a sign-in form without its CSRF token is refused");
  const forged = await page.request.post(`${opts.base}/admin/login`, {
    form: { username: opts.user, password: opts.password },
    maxRedirects: 0,
  });
  expect(forged.status() === 403, `403 for a missing CSRF token, got ${forged.status()}`);
  expect((await forged.text()).includes("could not be accepted"), "the CSRF page says why");

  step("sign in, then the dashboard");
  await page.fill("#username", opts.user);
  await page.fill("#password", opts.password);
  await Promise.all([page.waitForURL("**/admin/articles"), page.click("button[type=submit]")]);
  await page.goto(`${opts.base}/admin`);
  expect((await text()).includes("Dashboard"), "the dashboard");
  await audit("dashboard");

  step("a signed-in form without its CSRF token is refused");
  const noToken = await page.request.post(`${opts.base}/admin/logout`, { form: {}, maxRedirects: 0 });
  expect(noToken.status() === 403, `403 for logout without a token, got ${noToken.status()}`);

  step("write a bilingual interview with a cover image, with live preview");
  await page.goto(`${opts.base}/admin/articles/new`);
  await audit("editor-new");
  await page.selectOption("#kind", "interview");
  await page.selectOption("#author", "camille_renard");
  await page.fill("#tags", "SocialEconomy, Energy");
  await page.fill("#tr-0-language", "en");
  await page.fill("#tr-0-title", "Sharing the sun on school roofs");
  await page.fill("#tr-0-summary", "A cooperative puts panels on public buildings and shares the power.");
  await page.fill("#tr-0-body", "## Why roofs?\n\nBecause **schools** are everywhere.");
  await page.waitForFunction(() => document.querySelector("#tr-0-preview strong")?.textContent === "schools");
  await page.fill("#tr-1-language", "fr");
  await page.fill("#tr-1-title", "Partager le soleil sur les toits des écoles");
  await page.fill("#tr-1-summary", "Une coopérative équipe les bâtiments publics et partage l’énergie.");
  await page.fill("#tr-1-body", "## Pourquoi les toits ?\n\nParce que les **écoles** sont partout.");
  await page.fill("#iv-name", "Ana Pereira");
  await page.fill("#iv-role", "Director");
  await page.fill("#iv-organisation", "Sunfield Energy Cooperative");

  step("a file that is not an image is refused and nothing typed is lost");
  await page.fill("#cover_alt", "Solar panels on a school roof at sunrise");
  await page.setInputFiles("#cover_file", opts["not-image"]);
  await page.click("button[value=publish]");
  expect((await text()).includes("is not an image Gazette can use"), "the not-an-image message");
  expect((await page.inputValue("#tr-1-title")) === "Partager le soleil sur les toits des écoles", "the French title is kept");
  expect((await page.inputValue("#tr-0-body")).includes("**schools**"), "the body is kept");
  await audit("editor-errors");

  step("publish it with a real cover");
  await page.setInputFiles("#cover_file", opts.image);
  await Promise.all([page.waitForURL("**done=publish"), page.click("button[value=publish]")]);
  expect((await text()).includes("Published"), "the published notice");
  await audit("editor-published");
  const editUrl = page.url().split("?")[0];

  step("the public page shows it in both languages with its cover");
  const publicUrl = await page.getAttribute("a:has-text('View the public page')", "href");
  await page.goto(`${publicUrl}/en`);
  expect((await text()).includes("Sharing the sun on school roofs"), "the English title on the public page");
  const alt = await page.getAttribute("img[alt='Solar panels on a school roof at sunrise']", "src");
  expect(alt && alt.startsWith("/media/"), "the cover with its alt text");
  await page.screenshot({ path: join(opts.screenshots, "public-en.png"), fullPage: true });
  await page.goto(`${publicUrl}/fr`);
  expect((await text()).includes("Partager le soleil"), "the French title on the public page");

  step("edit it");
  await page.goto(editUrl);
  await page.fill("#tr-0-title", "Sharing the sun on every school roof");
  await Promise.all([page.waitForURL("**done=save"), page.click("button[value=save]")]);
  await page.goto(`${publicUrl}/en`);
  expect((await text()).includes("Sharing the sun on every school roof"), "the edited title is public");

  step("insert an image into the text with the plain form: everything typed is kept");
  await page.goto(editUrl);
  await audit("editor-edit");
  const typedBody = (await page.inputValue("#tr-0-body")) + "\n\nWords typed but not saved yet.";
  await page.fill("#tr-0-body", typedBody);
  await page.fill("#tr-0-summary", "A summary typed but not saved yet.");
  await page.selectOption("#inline_column", "0");
  await page.fill("#inline_alt", "Pupils looking at the panels on their school roof");
  await page.setInputFiles("#inline_file", opts["not-image"]);
  await page.click("button[value=insert_image]");
  expect((await text()).includes("is not an image Gazette can use"), "a non-image is refused for the text too");
  expect((await page.inputValue("#tr-0-body")) === typedBody, "the typed body is kept after the refusal");
  expect((await page.inputValue("#inline_alt")) === "Pupils looking at the panels on their school roof", "the alt text is kept");
  await page.setInputFiles("#inline_file", opts.image);
  await page.click("button[value=insert_image]");
  expect((await text()).includes("Image inserted"), "the inserted notice");
  const withImage = await page.inputValue("#tr-0-body");
  expect(withImage.startsWith(typedBody), "the typed body is kept");
  expect(/!\[Pupils looking at the panels on their school roof\]\(\/media\/[0-9a-f]+\)\n$/.test(withImage), `the image Markdown at the end, got ${withImage}`);
  expect((await page.inputValue("#tr-0-summary")) === "A summary typed but not saved yet.", "the typed summary is kept");
  await audit("editor-inline-image");

  step("the toolbar's Image button uploads an image and inserts it at the cursor (script)");
  page.once("dialog", (d) => d.accept("Panneaux solaires sur le toit d’une école"));
  await page.focus("#tr-1-body");
  await page.evaluate(() => { const a = document.querySelector("#tr-1-body"); a.setSelectionRange(0, 0); });
  const [chooser] = await Promise.all([
    page.waitForEvent("filechooser"),
    page.click("[aria-controls='tr-1-body'] button:has-text('Image')"),
  ]);
  await chooser.setFiles(opts.image);
  await page.waitForFunction(() => document.querySelector("#tr-1-body").value.startsWith("![Panneaux solaires sur le toit d’une école](/media/"));
  await Promise.all([page.waitForURL("**done=save"), page.click("button[value=save]")]);

  step("the public page shows the inline images with their alt text");
  await page.goto(`${publicUrl}/en`);
  const inline = await page.getAttribute("img[alt='Pupils looking at the panels on their school roof']", "src");
  expect(inline && inline.startsWith("/media/"), "the inline image with its alt text");
  expect((await page.request.get(`${opts.base}${inline}`)).headers()["content-type"] === "image/png", "the inline image is served");
  expect((await text()).includes("Words typed but not saved yet."), "the text typed around the image");
  await page.screenshot({ path: join(opts.screenshots, "public-inline-image.png"), fullPage: true });
  await page.goto(`${publicUrl}/fr`);
  expect(await page.isVisible("img[alt='Panneaux solaires sur le toit d’une école']"), "the image inserted by the toolbar");

  step("a session that ended mid-edit loses nothing typed: sign in, the text is back, not yet saved");
  await page.goto(editUrl);
  const cookies = await context.cookies(`${opts.base}/admin`);
  const stale_session = cookies.find((c) => c.name === "gazette_session");
  expect(stale_session, "a session cookie");
  // The session ends on the server (signed out from another tab), but this
  // tab still holds the old cookie, as after an expiry.
  // Signed out with the page's own form token, by a request beside the
  // page rather than from a second tab (a second tab of the persistent
  // context sometimes never answered here, stalling the whole run).
  const logoutToken = await page.getAttribute("form[action='/admin/logout'] input[name=_csrf]", "value");
  const out = await page.request.post(`${opts.base}/admin/logout`, { form: { _csrf: logoutToken }, maxRedirects: 0 });
  expect(out.status() === 303 || out.status() === 302, `signed out (${out.status()})`);
  await context.addCookies([stale_session]);
  const typedSummary = "Typed after the session ended: every word of it must survive.";
  await page.fill("#tr-0-summary", typedSummary);
  await page.fill("#tr-1-body", "## Pourquoi les toits ?\n\nTexte tapé hors session.");
  await page.click("button[value=save]");
  expect((await text()).includes("Your session had ended, so nothing was saved"), "the sign-in page says nothing was saved");
  await audit("login-session-ended");
  expect(!(await page.request.get(`${publicUrl}/en`).then((r) => r.text())).includes(typedSummary), "not saved yet");
  step("a wrong password still keeps the typed text");
  await page.fill("#username", opts.user);
  await page.fill("#password", "not the password at all");
  await page.click("button[type=submit]");
  expect((await text()).includes("Wrong username or password"), "the wrong-password message");
  await page.fill("#password", opts.password);
  await page.click("button[type=submit]");
  expect((await text()).includes("nothing has been saved yet"), "the restored-text notice");
  expect((await page.inputValue("#tr-0-summary")) === typedSummary, "the typed summary is back");
  expect((await page.inputValue("#tr-1-body")).includes("Texte tapé hors session."), "the typed French body is back");
  expect(!(await page.request.get(`${publicUrl}/en`).then((r) => r.text())).includes(typedSummary), "still not saved");
  await audit("editor-restored");
  await Promise.all([page.waitForURL("**done=save"), page.click("button[value=save]")]);
  expect((await page.request.get(`${publicUrl}/en`).then((r) => r.text())).includes(typedSummary), "saved with the new session");
  step("the cookie gone altogether: the same, for a new article");
  await page.goto(`${opts.base}/admin/articles/new`);
  await page.fill("#tr-0-language", "en");
  await page.fill("#tr-0-title", "Written while signed out");
  await page.fill("#tr-0-body", "Nothing of this may be lost.");
  await context.clearCookies({ name: "gazette_session" });
  await page.click("button[value=save]");
  expect((await text()).includes("Your session had ended"), "the sign-in page for the new article");
  await page.fill("#username", opts.user);
  await page.fill("#password", opts.password);
  await page.click("button[type=submit]");
  expect((await page.inputValue("#tr-0-title")) === "Written while signed out", "the new article's title is back");
  expect((await page.inputValue("#tr-0-body")) === "Nothing of this may be lost.", "its body is back");
  expect((await page.locator("form[action='/admin/articles/new']").count()) === 1, "still a new article");

  step("a save based on an older version is a conflict that keeps the text");
  await page.goto(editUrl);
  const stale = await page.inputValue("input[name=version]");
  const other = await context.newPage();
  await other.goto(editUrl);
  await other.fill("#tr-0-summary", "Changed by someone else meanwhile.");
  await Promise.all([other.waitForURL("**done=save"), other.click("button[value=save]")]);
  await other.close();
  await page.fill("#tr-0-title", "My own edit");
  await page.click("button[value=save]");
  expect((await text()).includes("Someone else saved this article"), "the conflict message");
  expect((await page.inputValue("#tr-0-title")) === "My own edit", "the typed title is kept");
  expect((await page.inputValue("input[name=version]")) !== stale, "the form now knows the newer version");
  await audit("editor-conflict");

  step("unpublish it");
  await page.goto(editUrl);
  await Promise.all([page.waitForURL("**done=unpublish"), page.click("button[value=unpublish]")]);
  const gone = await page.request.get(`${publicUrl}/en`);
  expect(gone.status() === 404, `the public page is gone after unpublishing, got ${gone.status()}`);

  step("the articles list, filtered and searched");
  await page.goto(`${opts.base}/admin/articles?status=draft&q=sun`);
  expect((await text()).includes("Sharing the sun"), "the article in the drafts");
  await audit("articles");

  step("the interface in French");
  await page.selectOption("#ui-locale", "fr");
  await page.click("form[action='/admin/language'] button");
  expect((await text()).includes("Articles") && (await text()).includes("Se déconnecter"), "French interface");
  await audit("articles-fr");

  step("validation messages in French: an empty title, then an address already used");
  await page.goto(`${opts.base}/admin/articles/new`);
  await page.selectOption("#kind", "news");
  await page.selectOption("#author", "camille_renard");
  await page.fill("#tr-0-language", "fr");
  await page.fill("#tr-0-summary", "Résumé sans titre");
  await page.click("button[value=save]");
  expect((await text()).includes("Le titre manque pour la langue fr"), "the French missing-title message");
  expect((await page.inputValue("#tr-0-summary")) === "Résumé sans titre", "the summary is kept");
  await audit("editor-errors-fr");
  await page.fill("#tr-0-title", "Un doublon");
  await page.fill("#slug", opts.slug);
  await page.click("button[value=save]");
  expect((await text()).includes(`L’adresse « ${opts.slug} » est déjà utilisée`), "the French slug-clash message");
  expect((await page.inputValue("#tr-0-title")) === "Un doublon", "the title is kept");
  const apiClash = await page.request.get(`${opts.base}/admin/articles?q=doublon`);
  expect(!(await apiClash.text()).includes("Un doublon"), "nothing was saved");
  await page.goto(`${opts.base}/admin/articles`);
  await page.selectOption("#ui-locale", "");
  await page.click("form[action='/admin/language'] button");

  step("an author may not edit a published article nor publish");
  await page.click("form[action='/admin/logout'] button");
  await signIn(opts.writer, opts["writer-password"]);
  const published = (await page.request.get(`${opts.base}/admin/articles?status=published`)).status();
  expect(published === 200, "an author sees the list");
  const list = await page.request.get(`${opts.base}/admin/articles`);
  expect(!(await list.text()).includes("Sharing the sun"), "an author does not see others' articles");
  const foreign = await page.request.get(editUrl);
  expect(foreign.status() === 403, `403 for another author's article, got ${foreign.status()}`);
  await page.goto(`${opts.base}/admin/articles/new`);
  expect((await page.locator("button[value=publish]").count()) === 0, "no Publish button for an author");
  await audit("editor-author");
  const csrf = await page.inputValue("input[name=_csrf]");
  const forbidden = await page.request.post(`${opts.base}/admin/articles/new`, {
    multipart: { _csrf: csrf, action: "publish", kind: "news", "tr-0-language": "en", "tr-0-title": "Sneaky" },
    maxRedirects: 0,
  });
  expect(forbidden.status() === 403, `403 when an author publishes, got ${forbidden.status()}`);

  // Pages for editors and admins, and pages for admins only.
  const EDITOR_PAGES = ["/admin/comments", "/admin/followers", "/admin/reports", "/admin/blocks", "/admin/deliveries", "/admin/network"];
  const ADMIN_PAGES = ["/admin/users", "/admin/tokens", "/admin/organisation", "/admin/authors", "/admin/authors/new"];
  async function statusOf(path) {
    return (await page.request.get(`${opts.base}${path}`, { maxRedirects: 0 })).status();
  }

  step("an author is refused every moderation and administration page");
  for (const path of [...EDITOR_PAGES, ...ADMIN_PAGES]) {
    const s = await statusOf(path);
    expect(s === 403, `403 for an author on ${path}, got ${s}`);
  }
  await page.goto(`${opts.base}/admin/blocks`);
  expect((await text()).includes("Your role does not allow this"), "the 403 page says why");
  await audit("forbidden-author");
  const authorBlock = await page.request.post(`${opts.base}/admin/blocks`, {
    form: { _csrf: csrf, kind: "domain", value: "example.org", confirm: "yes" },
    maxRedirects: 0,
  });
  expect(authorBlock.status() === 403, `403 when an author blocks a server, got ${authorBlock.status()}`);
  expect((await page.locator("nav.bar__nav a[href='/admin/blocks']").count()) === 0, "no Blocks link for an author");

  step("an editor moderates but is refused the administration pages");
  await page.goto(`${opts.base}/admin`);
  await page.click("form[action='/admin/logout'] button");
  await signIn(opts.editor, opts["editor-password"]);
  for (const path of EDITOR_PAGES) {
    const s = await statusOf(path);
    expect(s === 200, `200 for an editor on ${path}, got ${s}`);
  }
  for (const path of ADMIN_PAGES) {
    const s = await statusOf(path);
    expect(s === 403, `403 for an editor on ${path}, got ${s}`);
  }
  await page.goto(`${opts.base}/admin`);
  const editorCsrf = await page.inputValue("input[name=_csrf]");
  const editorToken = await page.request.post(`${opts.base}/admin/tokens`, {
    form: { _csrf: editorCsrf, name: "sneaky" },
    maxRedirects: 0,
  });
  expect(editorToken.status() === 403, `403 when an editor creates a token, got ${editorToken.status()}`);
  expect((await page.locator("nav.bar__nav a[href='/admin/users']").count()) === 0, "no Users link for an editor");
  await page.click("form[action='/admin/logout'] button");

  step("approve a reply held for moderation; it shows on the public page");
  await signIn(opts.user, opts.password);
  await page.goto(`${opts.base}/admin/comments`);
  expect((await text()).includes("Thank you for this interview"), "ana's reply is waiting");
  expect((await text()).includes("Buy cheap followers"), "the spam reply is waiting");
  await audit("comments");
  const anaReply = page.locator("article.reply", { hasText: "Thank you for this interview" });
  await Promise.all([page.waitForURL("**done=visible"), anaReply.locator("button[value=visible]").click()]);
  expect((await text()).includes("The reply is approved"), "the approval notice");
  const article = await page.request.get(`${opts.base}/articles/${opts.slug}`);
  const articleHtml = await article.text();
  expect(articleHtml.includes("Thank you for this interview"), "the approved reply is on the public page");
  expect(!articleHtml.includes("Buy cheap followers"), "the waiting reply is not on the public page");

  step("likes, boosts and replies of the article");
  await page.goto(`${opts.base}/admin/comments?status=visible`);
  await Promise.all([page.waitForURL("**/interactions"), page.click("article.reply a[href$='/interactions']")]);
  expect((await text()).includes("Who liked it"), "the interactions page");
  await audit("interactions");
  await page.click("a:has-text('Edit article')");
  expect((await page.locator("a[href$='/interactions']").count()) > 0, "the editor links to the interactions");

  step("approve a follow waiting for approval");
  // The organisation's tab (the instance, a coordinator, has a network actor too).
  await page.goto(`${opts.base}/admin/followers?actor=demo&status=pending`);
  expect((await text()).includes("@bob@friendly.example"), "bob's follow is waiting");
  await audit("followers-pending");
  await Promise.all([page.waitForURL("**done=approved"), page.click("button[value=approve]")]);
  await page.goto(`${opts.base}/admin/followers?actor=demo`);
  expect((await text()).includes("@bob@friendly.example"), "bob follows now");
  expect((await text()).includes("friendly.example"), "with his server");
  await audit("followers");

  step("resolve a report");
  await page.goto(`${opts.base}/admin/reports`);
  expect((await text()).includes("Spam in the replies"), "the open report");
  await audit("reports");
  await Promise.all([page.waitForURL("**done=resolved"), page.click("button:has-text('Mark resolved')")]);
  expect((await text()).includes("No report."), "no open report left");

  step("a bad domain is refused with the text kept, then a server is blocked and purged");
  await page.goto(`${opts.base}/admin/blocks`);
  await page.fill("#block-value", "spam example!");
  await page.fill("#block-reason", "Spam replies");
  await page.click("form[action='/admin/blocks'] button[type=submit]");
  expect((await text()).includes("“spam example!” is not a server's domain"), "the bad-domain message");
  expect((await page.inputValue("#block-value")) === "spam example!", "the typed domain is kept");
  expect((await page.inputValue("#block-reason")) === "Spam replies", "the typed reason is kept");
  await audit("blocks-error");
  await page.fill("#block-value", "spam.example");
  await page.click("form[action='/admin/blocks'] button[type=submit]");
  expect((await text()).includes("Block spam.example and its subdomains?"), "the confirmation page");
  expect((await text()).includes("deletes everything stored from this server"), "it says what is purged");
  await audit("block-confirm");
  await page.click("button[value=yes]");
  expect((await text()).includes("spam.example is blocked: 1 account(s)"), "the block and what it purged");
  await audit("blocks");
  await page.goto(`${opts.base}/admin/comments`);
  expect((await text()).includes("No reply is waiting"), "the blocked server's reply is gone");

  step("deliveries per server");
  await page.goto(`${opts.base}/admin/deliveries`);
  expect((await text()).includes("friendly.example"), "the Accept to bob's server is queued");
  await audit("deliveries");

  step("the network page of a coordinator: members and the shared feed's moderation");
  await page.goto(`${opts.base}/admin/network`);
  expect((await page.locator("nav.bar__nav a[href='/admin/network']").count()) === 1, "a Network link on a coordinator");
  expect((await text()).includes("Invite an organisation"), "the invitation form");
  await audit("network");

  step("invite a user: a taken name is refused with the text kept, then the one-time link");
  await page.goto(`${opts.base}/admin/users`);
  await page.fill("#invite-username", opts.writer);
  await page.fill("#invite-name", "Eddie Example");
  await page.click("form[action='/admin/users'] button[type=submit]");
  expect((await text()).includes(`The username “${opts.writer}” is already taken here`), "the taken-username message");
  expect((await page.inputValue("#invite-name")) === "Eddie Example", "the typed name is kept");
  await audit("users-error");
  await page.fill("#invite-username", "eddie");
  await page.fill("#invite-email", "eddie@coop.example");
  await page.selectOption("#invite-role", "editor");
  await page.click("form[action='/admin/users'] button[type=submit]");
  expect((await page.inputValue("#link-url")).includes("/admin/reset/"), "the one-time link");
  expect((await text()).includes("The link was also mailed to eddie@coop.example"), "the link was mailed");
  await audit("users");

  step("the image library: a non-image is refused with the alt text kept, an upload, alt text, deletes");
  await page.goto(`${opts.base}/admin/media`);
  await audit("media");
  await page.fill("#media-alt", "A field of sunflowers");
  await page.setInputFiles("#media-file", opts["not-image"]);
  await page.click("form[action='/admin/media'] button[type=submit]");
  expect((await text()).includes("is not an image Gazette can use"), "the not-an-image message");
  expect((await page.inputValue("#media-alt")) === "A field of sunflowers", "the alt text is kept");
  await audit("media-errors");
  await page.fill("#media-alt", "");
  await page.setInputFiles("#media-file", opts.image);
  await page.click("form[action='/admin/media'] button[type=submit]");
  expect((await text()).includes("Describe the image in the alternative text"), "alt text is required");
  await page.fill("#media-alt", "A field of sunflowers");
  await page.setInputFiles("#media-file", opts.image);
  await Promise.all([page.waitForURL("**done=media_uploaded"), page.click("form[action='/admin/media'] button[type=submit]")]);
  const fresh = page.locator("li.media-item", { hasText: "A field of sunflowers" });
  expect((await fresh.locator("input.code").inputValue()).startsWith("![A field of sunflowers](/media/"), "the Markdown snippet");
  await fresh.locator("input[name=alt]").fill("A field of sunflowers in July");
  await Promise.all([page.waitForURL("**done=media_alt_saved"), fresh.locator("button:has-text('Save alternative text')").click()]);
  const used = page.locator("li.media-item", { hasText: "text of “" }).first();
  await used.locator("button:has-text('Delete')").click();
  expect((await text()).includes("This image is still used, so it was not deleted"), "deleting a used image is refused");
  expect((await text()).includes("text of “Sharing the sun"), "the refusal names the article");
  await audit("media-delete-refused");
  const renamed = page.locator("li.media-item", { hasText: "A field of sunflowers in July" });
  await Promise.all([page.waitForURL("**done=media_deleted"), renamed.locator("button:has-text('Delete')").click()]);
  expect(!(await text()).includes("A field of sunflowers in July"), "the unused image is deleted");

  step("create an API token, use it, revoke it");
  await page.goto(`${opts.base}/admin/tokens`);
  await page.fill("#token-name", "newsletter");
  await page.click("form[action='/admin/tokens'] button[type=submit]");
  const secret = await page.inputValue("#token-secret");
  const withToken = () =>
    page.request.get(`${opts.base}/api/articles`, { headers: { Authorization: `Bearer ${secret}` } });
  expect((await withToken()).status() === 200, "the new token works");
  await audit("tokens");
  await page.click("button[aria-label='Revoke newsletter']");
  expect((await text()).includes("is revoked"), "the revocation notice");
  expect((await withToken()).status() === 401, "the revoked token is refused");

  step("the organisation's profile: a missing name is refused with the text kept, then saved");
  await page.goto(`${opts.base}/admin/organisation`);
  await audit("organisation");
  const orgName = await page.inputValue("#org-name");
  await page.fill("#org-name", "");
  await page.fill("#org-description", "Cooperatives sharing the sun, edited in the browser.");
  await page.click("form[action='/admin/organisation'] button[type=submit]");
  expect((await text()).includes("The organisation needs a name."), "the missing-name message");
  expect(
    (await page.inputValue("#org-description")) === "Cooperatives sharing the sun, edited in the browser.",
    "the typed description is kept",
  );
  await audit("organisation-errors");
  await page.fill("#org-name", orgName);
  await Promise.all([page.waitForURL("**done=profile_saved"), page.click("form[action='/admin/organisation'] button[type=submit]")]);

  step("the organisation's logo: a non-image is refused with the alt text kept, then uploaded and federated");
  await page.fill("#logo-alt", "Sunfield cooperative logo");
  await page.setInputFiles("#logo-file", opts["not-image"]);
  await page.click("#logo-form button[type=submit]");
  expect((await text()).includes("is not an image Gazette can use"), "the not-an-image message");
  expect((await page.inputValue("#logo-alt")) === "Sunfield cooperative logo", "the alt text is kept");
  await audit("organisation-logo-errors");
  await page.setInputFiles("#logo-file", opts.image);
  await Promise.all([page.waitForURL("**done=logo_saved"), page.click("#logo-form button[type=submit]")]);
  expect(await page.isVisible("#logo-form img[src^='/media/']"), "the current logo");
  await audit("organisation-logo");
  await page.goto(`${opts.base}/`);
  const logo = await page.getAttribute("img.brand__logo", "src");
  expect(logo && logo.startsWith("/media/"), "the logo on the public pages");
  await page.screenshot({ path: join(opts.screenshots, "public-home-logo.png"), fullPage: true });
  await page.goto(`${opts.base}/admin/organisation`);

  step("settings: bad values are refused with the text kept, then saved and in effect at once");
  const articleBefore = await page.request.get(`${opts.base}/articles/${opts.slug}`);
  expect(!(await articleBefore.text()).includes("Printed on recycled electrons"), "no footer yet");
  await page.goto(`${opts.base}/admin/settings`);
  expect((await text()).includes("From the configuration file"), "values from the config file");
  expect(await page.isChecked("#set-manual_followers"), "manual approval from the config (environment)");
  await audit("settings");
  await page.fill("#set-name", "");
  await page.fill("#set-default_language", "zz-top");
  await page.fill("#set-footer", "Printed on recycled electrons.");
  await page.click("form[action='/admin/settings'] button[type=submit]");
  expect((await text()).includes("The instance needs a name."), "the missing-name message");
  expect((await text()).includes("“zz-top” is not a language code"), "the bad-language message");
  expect((await page.inputValue("#set-footer")) === "Printed on recycled electrons.", "the typed footer is kept");
  expect((await page.inputValue("#set-default_language")) === "zz-top", "the typed language is kept");
  await audit("settings-errors");
  await page.fill("#set-name", "Sunfield News");
  await page.fill("#set-default_language", "fr");
  await page.uncheck("#set-manual_followers");
  await Promise.all([page.waitForURL("**done=settings_saved"), page.click("form[action='/admin/settings'] button[type=submit]")]);
  expect((await text()).includes("Settings saved"), "the saved notice");
  expect((await page.locator("a.bar__brand").innerText()) === "Sunfield News", "the new name in the admin");
  expect((await page.locator(".badge--overridden").count()) === 4, "four values set here");
  await audit("settings-saved");
  const home = await page.request.get(`${opts.base}/`);
  expect((await home.text()).includes("Printed on recycled electrons."), "the footer on the home page at once");
  const articleAfter = await page.request.get(`${opts.base}/articles/${opts.slug}`);
  expect((await articleAfter.text()).includes("Printed on recycled electrons."), "and on a cached article page");
  const actor = await page.request.get(`${opts.base}/users/${opts.org}`, { headers: { Accept: "application/activity+json" } });
  expect((await actor.json()).manuallyApprovesFollowers === false, "the actor no longer asks for approval");
  await page.goto(`${opts.base}/admin/articles/new`);
  expect((await page.inputValue("#tr-0-language")) === "fr", "a new article starts in the new default language");
  step("a setting put back to the config file's value");
  await page.goto(`${opts.base}/admin/settings`);
  await page.check("input[name='reset-set-footer']");
  await Promise.all([page.waitForURL("**done=settings_saved"), page.click("form[action='/admin/settings'] button[type=submit]")]);
  expect((await page.inputValue("#set-footer")) === "", "the footer is the file's (empty) again");
  expect(!(await page.request.get(`${opts.base}/articles/${opts.slug}`).then((r) => r.text())).includes("Printed on recycled electrons."), "gone from the article page");

  step("your account: a wrong current password is refused, the language saved");
  await page.goto(`${opts.base}/admin/account`);
  await audit("account");
  await page.fill("#current_password", "not my password");
  await page.fill("#new_password", "a brand new long password");
  await page.fill("#new_password_again", "a brand new long password");
  await page.click("form[action='/admin/account/password'] button[type=submit]");
  expect((await text()).includes("This is not your current password"), "the wrong-password message");
  await audit("account-errors");
  await page.selectOption("#account-locale", "fr");
  await Promise.all([page.waitForURL("**done=language_saved"), page.click("#main form[action='/admin/language'] button")]);
  expect((await text()).includes("Langue de l’interface enregistrée"), "saved, in French");
  await audit("account-fr");
  await page.goto(`${opts.base}/admin/settings`);
  expect((await text()).includes("Réglages"), "the settings page in French");
  await audit("settings-fr");
  await page.goto(`${opts.base}/admin/account`);
  await page.selectOption("#account-locale", "");
  await Promise.all([page.waitForURL("**done=language_saved"), page.click("#main form[action='/admin/language'] button")]);

  step("your time zone: an unknown one refused and named, then saved and shown");
  expect((await text()).includes("Times in UTC"), "the instance's zone to begin with");
  await page.fill("#account-time_zone", "Europe/Atlantis");
  await page.click("form[action='/admin/account/time_zone'] button[type=submit]");
  expect((await text()).includes("“Europe/Atlantis” is not a time zone name"), "the unknown zone is named");
  expect((await page.inputValue("#account-time_zone")) === "Europe/Atlantis", "the typed zone is kept");
  await audit("account-zone-error");
  await page.fill("#account-time_zone", "Europe/Rome");
  await Promise.all([page.waitForURL("**done=time_zone_saved"), page.click("form[action='/admin/account/time_zone'] button[type=submit]")]);
  expect((await text()).includes("Times in Europe/Rome"), "the frame names the user's zone");
  await audit("account-zone");

  step("followers by server, counted, and pages by cursor");
  await page.goto(`${opts.base}/admin/followers?actor=camille_renard`);
  expect((await text()).includes("many.example"), "the server with many followers");
  expect((await page.locator("table tbody tr").count()) === 50, "a first page of 50");
  await audit("followers-servers");
  await page.click("a:has-text('Older followers')");
  expect((await page.locator("table tbody tr").count()) === 10, "the last 10 on the older page");
  expect((await page.locator("a:has-text('Older followers')").count()) === 0, "no older page after the last");
  await page.click("a:has-text('Newest')");
  expect((await page.locator("table tbody tr").count()) === 50, "back to the newest");
  await page.fill("#host-filter", "other.example");
  await page.click("form[role=search]:has(#host-filter) button");
  expect((await text()).includes("2 follower(s) on other.example"), "the count on one server");
  expect((await page.locator("table tbody tr").count()) === 2, "only that server's followers");
  await audit("followers-filtered");

  step("a profile edit sent after the session ended: sign in, a page says it is not saved yet, one button saves it");
  await page.goto(`${opts.base}/admin/authors/tom_verbeke`);
  const bioTyped = "Bio typed after the session ended: not one word of it may be lost.";
  await page.fill("#author-bio", bioTyped);
  await context.clearCookies({ name: "gazette_session" });
  await page.click("form[action='/admin/authors/tom_verbeke'] button[type=submit]");
  expect((await text()).includes("Your session had ended, so nothing was saved"), "the sign-in page says nothing was saved");
  await page.fill("#username", opts.user);
  await page.fill("#password", opts.password);
  await page.click("button[type=submit]");
  expect((await text()).includes("Your change to Authors is not saved yet"), "the not-saved-yet page");
  expect((await text()).includes(bioTyped), "the typed bio is shown");
  expect(!(await page.request.get(`${opts.base}/authors/tom_verbeke`).then((r) => r.text())).includes(bioTyped), "not saved by signing in");
  await audit("kept-not-saved");
  await Promise.all([page.waitForURL("**done=profile_saved"), page.click("button:has-text('Save it now')")]);
  expect((await page.request.get(`${opts.base}/authors/tom_verbeke`).then((r) => r.text())).includes(bioTyped), "saved by the button");

  step("a settings change sent with another session's token: shown again, saved knowingly");
  await page.goto(`${opts.base}/admin/settings`);
  await page.fill("#set-footer", "Footer kept through a stale token.");
  // Signed out and in again in another tab: this page's token is stale.
  const tab = await context.newPage();
  await tab.goto(`${opts.base}/admin`);
  await tab.click("form[action='/admin/logout'] button");
  await tab.fill("#username", opts.user);
  await tab.fill("#password", opts.password);
  await Promise.all([tab.waitForURL("**/admin"), tab.click("button[type=submit]")]);
  await tab.close();
  await page.click("form[action='/admin/settings'] button[type=submit]");
  expect((await text()).includes("Your change to Settings is not saved yet"), "the not-saved-yet page");
  expect((await text()).includes("its security token was out of date"), "it says why");
  expect((await text()).includes("Footer kept through a stale token."), "the typed footer is shown");
  await audit("kept-stale-token");
  await Promise.all([page.waitForURL("**done=settings_saved"), page.click("button:has-text('Save it now')")]);
  expect((await page.inputValue("#set-footer")) === "Footer kept through a stale token.", "saved");
  await page.check("input[name='reset-set-footer']");
  await Promise.all([page.waitForURL("**done=settings_saved"), page.click("form[action='/admin/settings'] button[type=submit]")]);

  step("followers searched by name or handle, with and without the server filter");
  await page.goto(`${opts.base}/admin/followers?actor=camille_renard`);
  await page.fill("#follower-q", "@READER1");
  await page.click("form.follower-search button");
  expect((await page.locator("table tbody tr").count()) === 11, "reader1 and reader10 to reader19");
  expect((await text()).includes("contains “@READER1”"), "the search is named");
  expect((await page.inputValue("#follower-q")) === "@READER1", "the search is kept in its field");
  await audit("followers-search");
  await page.fill("#host-filter", "other.example");
  await page.click("form[role=search]:has(#host-filter) button");
  expect((await page.locator("table tbody tr").count()) === 1, "reader1 alone on other.example");
  await page.click("a:has-text('Clear the search')");
  expect((await page.locator("table tbody tr").count()) === 2, "the server filter without the search");

  step("authors' profiles");
  await page.goto(`${opts.base}/admin/authors`);
  await audit("authors");
  await page.click("a[href='/admin/authors/tom_verbeke']");
  await audit("author");

  step("an author's avatar chosen from the library");
  const choice = await page.locator("#avatar-existing option").nth(1).getAttribute("value");
  await page.selectOption("#avatar-existing", choice);
  await Promise.all([page.waitForURL("**done=avatar_saved"), page.click("#avatar-form button[type=submit]")]);
  expect(await page.isVisible(`#avatar-form img[src='/media/${choice}']`), "the chosen avatar");
  await audit("author-avatar");

  expectNothingBlocked("the end");
  console.log(JSON.stringify({ ok: true, audited: checked }));
  clearTimeout(watchdog);
  await context.close();
} catch (e) {
  await page.screenshot({ path: join(opts.screenshots, "failure.png"), fullPage: true }).catch(() => {});
  console.log(JSON.stringify({ ok: false, error: String(e.stack || e), url: page.url(), audited: checked }));
  await context.close();
  process.exit(1);
}
