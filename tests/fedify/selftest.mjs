// Sanity check of the interop harness without Gazette: two Fedify peers talk
// to each other through the control API, and a hand-rolled Mastodon-style
// sender (plain node:crypto, no Fedify: the shape Gazette has) talks to one of
// them.  Exits 0 when every check passes.
//
//   node_modules/node/bin/node selftest.mjs
//
// Prints "ok - ..." / "not ok - ..." lines and closes with "N passed, M failed".

import { spawn } from "node:child_process";
import { createHash, createSign, createVerify, generateKeyPairSync, randomUUID } from "node:crypto";
import http from "node:http";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
// The peers need Node >= 22: use the one `npm ci` installed when it is there,
// so this file itself can be run with any node.
const localNode = path.join(here, "node_modules", "node", "bin", "node");
const peerNode = existsSync(localNode) ? localNode : process.execPath;
const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const AP_ACCEPT = "application/activity+json";

let passed = 0;
let failed = 0;
function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail === undefined ? "" : `\n    ${JSON.stringify(detail)}`}`);
  }
  return cond;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Peer {
  constructor(name, dataDir) {
    this.name = name;
    this.dataDir = dataDir;
    this.events = [];
  }

  async start() {
    this.proc = spawn(peerNode, [path.join(here, "peer.mjs"), "--port", "0", "--data", this.dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.stderr = "";
    this.proc.stderr.on("data", (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.proc.on("exit", (code, signal) => resolve({ code, signal })));
    const rl = readline.createInterface({ input: this.proc.stdout });
    const first = new Promise((resolve, reject) => {
      rl.once("line", (line) => resolve(JSON.parse(line)));
      this.proc.once("exit", (code) => reject(new Error(`${this.name} exited (${code}): ${this.stderr}`)));
    });
    rl.on("line", (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ event: "unparsable", line });
      }
    });
    const ready = await withTimeout(first, 20000, `${this.name} to print its listening line`);
    this.listening = ready;
    this.base = ready.base;
    this.actor = ready.actor;
    return ready;
  }

  async stop() {
    this.proc.kill("SIGTERM");
    return await withTimeout(this.exited, 10000, `${this.name} to exit on SIGTERM`);
  }

  async control(method, p, body) {
    const res = await fetch(this.base + p, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    return { status: res.status, json };
  }

  async waitFor(desc, pred, ms = 15000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      await sleep(50);
    }
    return null;
  }

  received(type) {
    return (e) => e.event === "received" && e.type === type;
  }

  async publicKeyPem() {
    const res = await fetch(this.actor, { headers: { accept: AP_ACCEPT } });
    const json = await res.json();
    return json.publicKey?.publicKeyPem ?? null;
  }
}

// A minimal non-Fedify ActivityPub actor: serves its actor document, signs
// POSTs draft-cavage over "(request-target) host date digest" exactly as
// Mastodon does, and records what arrives in its inbox.
class PlainActor {
  async start() {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" });
    this.privateKey = privateKey;
    this.inbox = [];
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url, this.base);
        if (req.method === "GET" && url.pathname === "/actor") {
          res.writeHead(200, { "content-type": "application/activity+json" });
          res.end(JSON.stringify(this.actorDocument()));
        } else if (req.method === "POST" && url.pathname === "/inbox") {
          this.inbox.push({ headers: req.headers, path: url.pathname, body: Buffer.concat(chunks).toString("utf8") });
          res.writeHead(202);
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise((r) => this.server.listen(0, "127.0.0.1", r));
    this.base = `http://localhost:${this.server.address().port}`;
    this.actor = `${this.base}/actor`;
  }

  actorDocument() {
    return {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
      id: this.actor,
      type: "Person",
      preferredUsername: "plain",
      inbox: `${this.base}/inbox`,
      outbox: `${this.base}/outbox`,
      followers: `${this.base}/followers`,
      publicKey: { id: `${this.actor}#main-key`, owner: this.actor, publicKeyPem: this.publicKeyPem },
    };
  }

  async post(inbox, activity, date = new Date().toUTCString()) {
    const body = JSON.stringify(activity);
    const url = new URL(inbox);
    const digest = `SHA-256=${createHash("sha256").update(body).digest("base64")}`;
    const signingString = [
      `(request-target): post ${url.pathname}`,
      `host: ${url.host}`,
      `date: ${date}`,
      `digest: ${digest}`,
    ].join("\n");
    const signature = createSign("sha256").update(signingString).sign(this.privateKey, "base64");
    return await fetch(inbox, {
      method: "POST",
      headers: {
        "content-type": "application/activity+json",
        date,
        digest,
        signature: `keyId="${this.actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"`,
      },
      body,
    });
  }

  stop() {
    this.server.closeAllConnections?.();
    this.server.close();
  }
}

// Verifies a draft-cavage Signature header the way a plain implementation
// (like Gazette's) would; returns the parsed parameters or null.
function verifyCavage(req, publicKeyPem) {
  const params = Object.fromEntries(
    [...(req.headers.signature ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  if (!params.headers || !params.signature) return null;
  const lines = params.headers.split(" ").map((h) =>
    h === "(request-target)" ? `(request-target): post ${req.path}` : `${h}: ${req.headers[h]}`,
  );
  const ok = createVerify("sha256").update(lines.join("\n")).verify(publicKeyPem, params.signature, "base64");
  const digestOk = req.headers.digest === `SHA-256=${createHash("sha256").update(req.body).digest("base64")}`;
  return ok && digestOk ? params : null;
}

async function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), "fedify-selftest-"));
const a = new Peer("A", path.join(tmp, "a"));
const b = new Peer("B", path.join(tmp, "b"));
const watchdog = setTimeout(() => {
  console.log("not ok - self-test took longer than 120 s");
  console.log(`${passed} passed, ${failed + 1} failed`);
  a.proc?.kill("SIGKILL");
  b.proc?.kill("SIGKILL");
  process.exit(1);
}, 120000);

try {
  await a.start();
  await b.start();
  check("listening line has base and actor", /^http:\/\/localhost:\d+$/.test(a.base) && a.actor === `${a.base}/users/alice`, a.listening);
  check("two peers on different ports", a.base !== b.base, [a.base, b.base]);

  // --- A follows B; B answers with a signed Accept
  const follow = await a.control("POST", "/control/follow", { target: b.actor });
  check("POST /control/follow answers 200 with the Follow id", follow.status === 200 && follow.json.id?.startsWith(a.base), follow);
  const gotFollow = await b.waitFor("Follow", (e) => b.received("Follow")(e) && e.actor === a.actor);
  check("B received a verified Follow from A", gotFollow && gotFollow.object?.id === b.actor && gotFollow.id === follow.json.id, gotFollow);
  const gotAccept = await a.waitFor("Accept", (e) => a.received("Accept")(e) && e.actor === b.actor);
  check(
    "A received a verified Accept embedding its Follow",
    gotAccept && gotAccept.objectEmbedded && gotAccept.object?.type === "Follow" && gotAccept.object?.id === follow.json.id,
    gotAccept,
  );
  const following = await a.control("GET", "/control/following");
  check("A's following shows B accepted", following.json.some((f) => f.id === b.actor && f.state === "accepted"), following.json);
  const followers = await b.control("GET", "/control/followers");
  check("B's followers lists A with its inbox", followers.json.some((f) => f.id === a.actor && f.inbox === `${a.actor}/inbox`), followers.json);

  // --- B publishes an Article to its followers (and mentions A)
  const pub = await b.control("POST", "/control/publish-article", {
    name: "Hello fediverse",
    summary: "<p>A short summary</p>",
    content: "<p>Body</p>",
    mentions: [a.actor],
  });
  check("B published an Article", pub.status === 200 && pub.json.article, pub);
  const create = await a.waitFor("Create", (e) => a.received("Create")(e) && e.object?.type === "Article");
  const art = create?.object ?? {};
  check("A received Create(Article) from B", create && create.actor === b.actor && art.id === pub.json.article, create);
  check("Article name/nameMap parsed", art.name === "Hello fediverse" && art.nameMap?.en === "Hello fediverse" && art.nameMap?.fr === "Article de test", art);
  check("Article summary/summaryMap parsed", art.summary === "<p>A short summary</p>" && art.summaryMap?.fr === "<p>Résumé</p>", art);
  check("Article content/contentMap parsed", art.content === "<p>Body</p>" && art.contentMap?.fr === "<p>Corps</p>", art);
  check("Article mediaType and source parsed", art.mediaType === "text/html" && art.source?.mediaType === "text/markdown" && typeof art.source?.content === "string", art);
  check("Article url/attributedTo/published/updated parsed", art.url?.startsWith(b.base) && art.attributedTo?.[0] === b.actor && /^\d{4}-\d\d-\d\dT/.test(art.published ?? "") && art.updated != null, art);
  check("Article addressed to Public, cc followers", art.to?.includes(PUBLIC) && art.cc?.includes(`${b.actor}/followers`), art);
  const hashtag = art.tags?.find((t) => t.type === "Hashtag");
  const mention = art.tags?.find((t) => t.type === "Mention");
  check("Article Hashtag tag parsed", hashtag?.name === "#gazette" && hashtag?.href === `${b.base}/tags/gazette`, art.tags);
  check("Article Mention tag parsed", mention?.href === a.actor, art.tags);
  check("Article image and attachment parsed", art.image?.[0]?.url === `${b.base}/media/cover.png` && art.image?.[0]?.name === "Cover alt text" && art.attachments?.[0]?.mediaType === "image/jpeg", art);
  check("Article replies collection id parsed", art.replies === `${pub.json.article}/replies`, art);
  const dup = a.events.filter((e) => e.event === "received" && e.id === create?.id).length;
  check("Create delivered once to A", dup === 1, dup);

  // --- A likes, replies to and boosts the article
  const like = await a.control("POST", "/control/like", { object: pub.json.article });
  check("POST /control/like answers 200", like.status === 200, like);
  const gotLike = await b.waitFor("Like", (e) => b.received("Like")(e) && e.actor === a.actor);
  check("B received Like of the article", gotLike?.object?.id === pub.json.article, gotLike);

  const reply = await a.control("POST", "/control/reply", { inReplyTo: pub.json.article, content: "<p>Nice piece!</p>" });
  check("POST /control/reply answers 200", reply.status === 200, reply);
  const gotReply = await b.waitFor("reply", (e) => b.received("Create")(e) && e.actor === a.actor && e.object?.type === "Note");
  check(
    "B received Create(Note) replying to the article",
    gotReply?.object?.inReplyTo === pub.json.article && gotReply?.object?.content === "<p>Nice piece!</p>" && gotReply?.object?.to?.includes(PUBLIC) && gotReply?.object?.cc?.includes(b.actor),
    gotReply,
  );

  const boost = await a.control("POST", "/control/announce", { object: pub.json.article, preferSharedInbox: true });
  check("POST /control/announce answers 200", boost.status === 200, boost);
  const gotBoost = await b.waitFor("Announce", (e) => b.received("Announce")(e) && e.actor === a.actor);
  check("B received Announce of the article", gotBoost?.object?.id === pub.json.article, gotBoost);
  check("preferSharedInbox delivered the Announce to B's shared inbox", gotBoost?.inbox === "shared", gotBoost);
  check("other deliveries went to B's personal inbox", gotLike?.inbox === "personal" && gotReply?.inbox === "personal");

  // --- what went over the wire: every POST signed draft-cavage, accepted first time
  const posts = [...a.events, ...b.events].filter((e) => e.event === "http-out" && e.method === "POST");
  check("outgoing POSTs were made", posts.length >= 6, posts.length);
  check("every outgoing POST is signed draft-cavage and got 2xx", posts.every((e) => e.signature === "draft-cavage" && e.status >= 200 && e.status < 300), posts);
  const gets = a.events.filter((e) => e.event === "http-out" && e.method === "GET");
  check("A's lookups were signed GETs", gets.some((e) => e.signature === "draft-cavage"), gets);

  // --- a forged delivery is rejected and logged
  const forged = {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${a.base}/forged/1`,
    type: "Like",
    actor: a.actor,
    object: pub.json.article,
  };
  const noSig = await fetch(`${b.actor}/inbox`, {
    method: "POST",
    headers: { "content-type": "application/activity+json" },
    body: JSON.stringify(forged),
  });
  check("unsigned POST to the inbox answers 401", noSig.status === 401, noSig.status);
  const rej = await b.waitFor("rejected", (e) => e.event === "rejected" && e.reason === "noSignature");
  check("B logged the unsigned delivery as rejected (noSignature)", rej?.id === forged.id && rej?.status === 401, rej);
  const badSig = await fetch(`${b.actor}/inbox`, {
    method: "POST",
    headers: {
      "content-type": "application/activity+json",
      date: new Date().toUTCString(),
      digest: "SHA-256=" + Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify({ ...forged, id: `${a.base}/forged/2` })))).toString("base64"),
      signature: `keyId="${a.actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${Buffer.alloc(512, 1).toString("base64")}"`,
    },
    body: JSON.stringify({ ...forged, id: `${a.base}/forged/2` }),
  });
  check("badly signed POST answers 401", badSig.status === 401, badSig.status);
  const rej2 = await b.waitFor("rejected", (e) => e.event === "rejected" && e.reason === "invalidSignature");
  check("B logged the bad signature as rejected (invalidSignature)", rej2?.keyId === `${a.actor}#main-key`, rej2);
  check("no rejected delivery got through as received", !b.events.some((e) => e.event === "received" && e.id?.includes("/forged/")));

  // --- a hand-rolled Mastodon-style sender (what Gazette looks like to B)
  const plain = new PlainActor();
  await plain.start();
  try {
    const followId = `${plain.base}/follows/${randomUUID()}`;
    const res = await plain.post(`${b.actor}/inbox`, {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: followId,
      type: "Follow",
      actor: plain.actor,
      object: b.actor,
    });
    check("B accepts a Mastodon-style signed Follow (202)", res.status === 202, res.status);
    const got = await b.waitFor("plain Follow", (e) => b.received("Follow")(e) && e.id === followId);
    check("B logged the plain actor's Follow as received", got?.actor === plain.actor, got);
    let accept = null;
    for (let i = 0; i < 100 && accept == null; i++) {
      accept = plain.inbox.find((r) => JSON.parse(r.body).type === "Accept") ?? null;
      if (accept == null) await sleep(50);
    }
    const acceptJson = accept ? JSON.parse(accept.body) : {};
    check("B delivered an Accept to the plain actor's inbox", acceptJson.object?.id === followId && acceptJson.actor === b.actor, acceptJson);
    const bPem = await b.publicKeyPem();
    const params = accept ? verifyCavage(accept, bPem) : null;
    check(
      "B's Accept carries a draft-cavage signature (rsa-sha256, Digest) that verifies with plain node:crypto",
      params != null && params.keyId === `${b.actor}#main-key` && params.algorithm === "rsa-sha256" &&
        ["(request-target)", "host", "date", "digest"].every((h) => params.headers.split(" ").includes(h)),
      { params, headers: accept?.headers },
    );
    check("Accept was POSTed as application/activity+json", accept?.headers["content-type"] === "application/activity+json", accept?.headers);

    // Hashtag needs a JSON-LD definition, or Fedify drops it.
    const article = (n, context) => ({
      "@context": context,
      id: `${plain.base}/creates/${n}`,
      type: "Create",
      actor: plain.actor,
      to: [PUBLIC],
      object: {
        id: `${plain.base}/articles/${n}`,
        type: "Article",
        attributedTo: plain.actor,
        name: `Article ${n}`,
        content: "<p>x</p>",
        to: [PUBLIC],
        tag: [{ type: "Hashtag", name: "#rust", href: `${plain.base}/tags/rust` }],
      },
    });
    const plainCtx = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"];
    const r1 = await plain.post(`${b.actor}/inbox`, article(1, plainCtx));
    const r2 = await plain.post(`${b.actor}/inbox`, article(2, [...plainCtx, { Hashtag: "as:Hashtag" }]));
    check("B accepts Create(Article) from the plain actor", r1.status === 202 && r2.status === 202, [r1.status, r2.status]);
    const e1 = await b.waitFor("article 1", (e) => b.received("Create")(e) && e.id === `${plain.base}/creates/1`);
    const e2 = await b.waitFor("article 2", (e) => b.received("Create")(e) && e.id === `${plain.base}/creates/2`);
    check("without \"Hashtag\": \"as:Hashtag\" in @context Fedify drops the Hashtag", e1 != null && e1.object?.tags?.length === 0, e1?.object?.tags);
    check("with \"Hashtag\": \"as:Hashtag\" in @context Fedify keeps it", e2?.object?.tags?.[0]?.type === "Hashtag" && e2.object.tags[0].name === "#rust", e2?.object?.tags);

    // A correctly signed request whose Date is two hours old is refused
    // (Fedify's window is one hour; Mastodon's is twelve).
    const staleId = `${plain.base}/likes/stale`;
    const stale = await plain.post(
      `${b.actor}/inbox`,
      { "@context": "https://www.w3.org/ns/activitystreams", id: staleId, type: "Like", actor: plain.actor, object: `${plain.base}/articles/1` },
      new Date(Date.now() - 2 * 3600e3).toUTCString(),
    );
    check("a signature with a Date two hours old answers 401", stale.status === 401, stale.status);
    const staleRej = await b.waitFor("stale rejected", (e) => e.event === "rejected" && e.id === staleId);
    check("B logged it as rejected (invalidSignature)", staleRej?.reason === "invalidSignature", staleRej);
  } finally {
    plain.stop();
  }

  // --- B follows A too, so A has a follower to persist
  await b.control("POST", "/control/follow", { target: a.actor });
  await b.waitFor("Accept", (e) => b.received("Accept")(e) && e.actor === a.actor);
  const aFollowers = await a.control("GET", "/control/followers");
  check("A recorded B as follower", aFollowers.json.some((f) => f.id === b.actor), aFollowers.json);

  // --- A undoes its follow
  const undo = await a.control("POST", "/control/undo-follow", { target: b.actor });
  check("POST /control/undo-follow answers 200", undo.status === 200, undo);
  const gotUndo = await b.waitFor("Undo", (e) => b.received("Undo")(e) && e.actor === a.actor);
  check("B received Undo(Follow)", gotUndo?.object?.type === "Follow" && gotUndo?.object?.id === follow.json.id, gotUndo);
  await sleep(100);
  const followersAfter = await b.control("GET", "/control/followers");
  check("B dropped A from its followers", !followersAfter.json.some((f) => f.id === a.actor), followersAfter.json);

  // --- control errors are reported, not swallowed
  const bad = await a.control("POST", "/control/follow", {});
  check("control endpoint rejects a missing target with 400", bad.status === 400 && bad.json.error, bad);

  // --- restart A: same key, same followers
  const pemBefore = await a.publicKeyPem();
  const stopA = await a.stop();
  check("A exits 0 on SIGTERM", stopA.code === 0, stopA);
  await a.start();
  const pemAfter = await a.publicKeyPem();
  check("A's public key survives a restart", pemBefore != null && pemBefore === pemAfter);
  const aFollowersAfter = await a.control("GET", "/control/followers");
  check("A's followers survive a restart", aFollowersAfter.json.some((f) => f.id === b.actor), aFollowersAfter.json);
  // B still verifies A after the restart (its cached key is still right).
  const like2 = await a.control("POST", "/control/like", { object: pub.json.article });
  const gotLike2 = await b.waitFor("Like after restart", (e) => b.received("Like")(e) && e.id === like2.json.id);
  check("B verifies A's signature after A restarted", like2.status === 200 && gotLike2 != null, like2);
} catch (err) {
  check(`self-test ran to the end (${err?.message ?? err})`, false);
} finally {
  for (const p of [a, b]) {
    if (p.proc && p.proc.exitCode == null && p.proc.signalCode == null) {
      try {
        const r = await p.stop();
        check(`${p.name} exits 0 on SIGTERM at the end`, r.code === 0, r);
      } catch (err) {
        p.proc.kill("SIGKILL");
        check(`${p.name} stops`, false, String(err));
      }
    }
    if (failed > 0 && p.stderr) console.log(`--- ${p.name} stderr ---\n${p.stderr}`);
    // SELFTEST_EVENTS=DIR keeps every event line of both peers for inspection.
    if (process.env.SELFTEST_EVENTS) {
      writeFileSync(path.join(process.env.SELFTEST_EVENTS, `${p.name}.jsonl`), p.events.map((e) => JSON.stringify(e)).join("\n") + "\n");
    }
  }
  clearTimeout(watchdog);
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
