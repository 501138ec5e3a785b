// Gazette's independent ActivityPub interop peer, built on Fedify.
//
//   node_modules/node/bin/node peer.mjs --port 0 --data DIR [--username alice] [--verbose]
//
// Runs one Fedify actor (http://localhost:PORT/users/alice), prints one JSON
// line per event on stdout (the first is {"event":"listening",...}) and serves
// a small JSON control API under /control.  See README.md.

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `peer.mjs needs Node >= 22 (this is ${process.version}); ` +
      "run it with tests/fedify/node_modules/node/bin/node (npm ci installs it)\n",
  );
  process.exit(2);
}

const http = await import("node:http");
const fs = await import("node:fs");
const path = await import("node:path");
const { randomUUID } = await import("node:crypto");
const { AsyncLocalStorage } = await import("node:async_hooks");
const { configure, defaultTextFormatter } = await import("@logtape/logtape");
const { Temporal } = await import("@js-temporal/polyfill");
const {
  createFederation,
  MemoryKvStore,
  generateCryptoKeyPair,
  exportJwk,
  importJwk,
  verifyRequest,
  fetchKey,
} = await import("@fedify/fedify");
const v = await import("@fedify/vocab");
const { signObject, verifyObject, signRequest } = await import("@fedify/fedify");

const PEER_VERSION = "0.1.0";
const AS_NS = "https://www.w3.org/ns/activitystreams#";

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    port: 0,
    data: null,
    username: "alice",
    verbose: false,
    host: "localhost",
    firstKnock: "draft-cavage",
    refuseCavage: false,
    syncFollowers: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === "--port") opts.port = Number(next());
    else if (a === "--data") opts.data = next();
    else if (a === "--username") opts.username = next();
    else if (a === "--host") opts.host = next();
    else if (a === "--verbose") opts.verbose = true;
    else if (a === "--first-knock") opts.firstKnock = next();
    else if (a === "--refuse-cavage") opts.refuseCavage = true;
    else if (a === "--sync-followers") opts.syncFollowers = true;
    else if (a === "--help" || a === "-h") usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (opts.data == null) usage("--data DIR is required");
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");
  if (!/^[a-z0-9_]+$/.test(opts.username)) usage("bad --username");
  if (!["draft-cavage", "rfc9421"].includes(opts.firstKnock)) usage("bad --first-knock");
  return opts;
}

function usage(err) {
  const text =
    "usage: node peer.mjs --port PORT|0 --data DIR [--username alice] [--host localhost]\n" +
    "                    [--first-knock draft-cavage|rfc9421] [--refuse-cavage] [--sync-followers] [--verbose]\n";
  if (err) {
    process.stderr.write(`peer.mjs: ${err}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- output

// A reader that goes away must not kill the peer (EPIPE on stdout).
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const events = [];
function emit(ev) {
  events.push(ev);
  try {
    process.stdout.write(JSON.stringify(ev) + "\n");
  } catch {
    // stdout closed: keep running, /control/events still has everything.
  }
}

await configure({
  sinks: { stderr: (record) => process.stderr.write(defaultTextFormatter(record)) },
  loggers: [
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    { category: "fedify", sinks: ["stderr"], lowestLevel: opts.verbose ? "debug" : "warning" },
  ],
});

// ---------------------------------------------------------------- persistence

fs.mkdirSync(opts.data, { recursive: true });
const keysFile = path.join(opts.data, "keys.json");
const stateFile = path.join(opts.data, "state.json");

function writeJsonAtomic(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, file);
}

async function loadOrCreateKeys() {
  if (fs.existsSync(keysFile)) {
    const stored = JSON.parse(fs.readFileSync(keysFile, "utf8"));
    const pairs = [];
    for (const name of ["rsa", "ed25519"]) {
      pairs.push({
        privateKey: await importJwk(stored[name].privateKey, "private"),
        publicKey: await importJwk(stored[name].publicKey, "public"),
      });
    }
    return { pairs, created: stored.created };
  }
  const rsa = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  const ed = await generateCryptoKeyPair("Ed25519");
  const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  writeJsonAtomic(keysFile, {
    created,
    rsa: { privateKey: await exportJwk(rsa.privateKey), publicKey: await exportJwk(rsa.publicKey) },
    ed25519: { privateKey: await exportJwk(ed.privateKey), publicKey: await exportJwk(ed.publicKey) },
  });
  return { pairs: [rsa, ed], created };
}

// RSA first: Fedify publishes the first key as `publicKey` (#main-key) and
// signs HTTP requests with the first RSASSA-PKCS1-v1_5 key.
const { pairs: keyPairs, created: actorCreated } = await loadOrCreateKeys();

const state = fs.existsSync(stateFile)
  ? JSON.parse(fs.readFileSync(stateFile, "utf8"))
  : {};
state.followers ??= {}; // actor id -> { id, inbox, sharedInbox, followId }
state.following ??= {}; // actor id -> { id, inbox, followId, state }
state.objects ??= {}; // object/activity id -> JSON-LD we published
state.quotes ??= {}; // QuoteRequest id -> { note, object, state, stamp } (FEP-044f)
function saveState() {
  writeJsonAtomic(stateFile, state);
}

// ---------------------------------------------------------------- HTTP server

const server = http.createServer((req, res) => {
  handleHttp(req, res).catch((err) => {
    emit({ event: "error", where: "http", message: String(err?.stack ?? err) });
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("internal error");
  });
});

function listen(srv, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (e) => reject(e);
    srv.once("error", onError);
    srv.listen(port, host, () => {
      srv.off("error", onError);
      resolve(srv.address().port);
    });
  });
}

const port = await listen(server, opts.port, "127.0.0.1");
// Also answer on ::1 (`localhost` may resolve to it first) when it exists.
const server6 = http.createServer(server.listeners("request")[0]);
try {
  await listen(server6, port, "::1");
} catch {
  server6.close?.();
}

const base = `http://${opts.host}:${port}`;
const actorId = new URL(`/users/${opts.username}`, base);

// ---------------------------------------------------------------- outgoing HTTP log

const originalFetch = globalThis.fetch;
globalThis.fetch = async function loggedFetch(input, init) {
  const isReq = input instanceof Request;
  const method = (init?.method ?? (isReq ? input.method : "GET")).toUpperCase();
  const url = isReq ? input.url : String(input);
  const headers = new Headers(init?.headers ?? (isReq ? input.headers : undefined));
  const signature = headers.has("signature-input")
    ? "rfc9421"
    : headers.has("signature")
      ? "draft-cavage"
      : "none";
  try {
    const res = await originalFetch(input, init);
    emit({ event: "http-out", method, url, status: res.status, signature });
    return res;
  } catch (err) {
    emit({ event: "http-out", method, url, status: null, signature, error: String(err?.message ?? err) });
    throw err;
  }
};

// ---------------------------------------------------------------- federation

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: base,
  allowPrivateAddress: true,
  // Which signature Fedify tries first on a server it has not signed for
  // yet (it falls back to the other on a 4xx and remembers what worked).
  firstKnock: opts.firstKnock === "rfc9421" ? "rfc9421" : "draft-cavage-http-signatures-12",
  userAgent: { software: `GazetteInteropPeer/${PEER_VERSION}` },
});

const requestStore = new AsyncLocalStorage();

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== opts.username) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new v.Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `${identifier} (Fedify interop peer)`,
      summary: "<p>Independent ActivityPub peer used by Gazette's tests.</p>",
      url: ctx.getActorUri(identifier),
      published: Temporal.Instant.from(actorCreated),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new v.Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      discoverable: true,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === opts.username ? keyPairs : []));

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) =>
    identifier === opts.username ? { items: [] } : null,
  )
  .setCounter((_ctx, identifier) => (identifier === opts.username ? 0 : null));

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== opts.username) return null;
    return {
      items: Object.values(state.followers).map((f) => ({
        id: new URL(f.id),
        inboxId: f.inbox ? new URL(f.inbox) : null,
        endpoints: { sharedInbox: f.sharedInbox ? new URL(f.sharedInbox) : null },
      })),
    };
  })
  .setCounter((_ctx, identifier) =>
    identifier === opts.username ? Object.keys(state.followers).length : null,
  );

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== opts.username) return null;
    return {
      items: Object.values(state.following)
        .filter((f) => f.state === "accepted")
        .map((f) => new URL(f.id)),
    };
  })
  .setCounter((_ctx, identifier) =>
    identifier === opts.username
      ? Object.values(state.following).filter((f) => f.state === "accepted").length
      : null,
  );

// Everything this peer published (notes, articles, activities) is
// dereferenceable at its id.
const servedTypes = [
  [v.Note, "notes"],
  [v.Article, "articles"],
  [v.Follow, "activities/follow"],
  [v.Undo, "activities/undo"],
  [v.Accept, "activities/accept"],
  [v.Like, "activities/like"],
  [v.Announce, "activities/announce"],
  [v.Create, "activities/create"],
];
for (const [cls, prefix] of servedTypes) {
  federation.setObjectDispatcher(cls, `/${prefix}/{id}`, async (ctx, values) => {
    const id = new URL(`/${prefix}/${values.id}`, base).href;
    const json = state.objects[id];
    if (json == null) return null;
    return await cls.fromJsonLd(json, { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
  });
}

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "gazette-interop-peer", version: PEER_VERSION },
  protocols: ["activitypub"],
  usage: {
    users: { total: 1, activeHalfyear: 1, activeMonth: 1 },
    localPosts: Object.keys(state.objects).filter((id) => /\/(notes|articles)\//.test(id)).length,
    localComments: 0,
  },
}));

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .setSharedKeyDispatcher(() => ({ identifier: opts.username }))
  .on(v.Activity, onActivity)
  .onUnverifiedActivity((_ctx, activity, reason) => {
    const store = requestStore.getStore();
    if (store != null) {
      store.unverified = {
        reason: reason.type,
        keyId: reason.keyId?.href ?? null,
        keyFetchStatus: reason.result?.status ?? null,
        keyFetchError: reason.result?.error ? String(reason.result.error.message ?? reason.result.error) : null,
        type: typeName(activity),
        id: href(activity.id),
        actor: href(activity.actorId),
      };
    }
    // Returning nothing keeps Fedify's default 401 answer.
  })
  .onError((_ctx, error) => {
    emit({ event: "error", where: "inbox", message: String(error?.stack ?? error) });
  });

// ---------------------------------------------------------------- describing what Fedify parsed

const href = (u) => (u == null ? null : u.href ?? String(u));
const str = (s) => (s == null ? null : s.toString());
const instant = (t) => (t == null ? null : t.toString());

function typeName(obj) {
  const t = v.getTypeId(obj)?.href;
  if (t == null) return null;
  return t.startsWith(AS_NS) ? t.slice(AS_NS.length) : t;
}

function urlOf(u) {
  if (u == null) return null;
  if (u instanceof URL) return u.href;
  if (u instanceof v.Link) return href(u.href);
  return String(u);
}

function langFields(field, values, primary) {
  const map = {};
  let any = false;
  for (const s of values) {
    if (s instanceof v.LanguageString) {
      map[s.locale.toString()] = s.toString();
      any = true;
    }
  }
  return { [field]: str(primary), [`${field}Map`]: any ? map : null };
}

async function collect(iterable) {
  const out = [];
  try {
    for await (const x of iterable) if (x != null) out.push(x);
  } catch (err) {
    out.push({ error: String(err?.message ?? err) });
  }
  return out;
}

function describeMedia(m) {
  if (m == null) return null;
  if (m.error) return m;
  if (m instanceof v.PropertyValue) return { type: "PropertyValue", name: str(m.name), value: str(m.value) };
  if (m instanceof v.Link) {
    return { type: typeName(m), href: href(m.href), name: str(m.name), mediaType: m.mediaType ?? null };
  }
  return {
    type: typeName(m),
    id: href(m.id),
    url: urlOf(m.url),
    name: str(m.name),
    summary: str(m.summary),
    mediaType: m.mediaType ?? null,
    width: m.width ?? null,
    height: m.height ?? null,
  };
}

function describeTag(t) {
  if (t.error) return t;
  if (t instanceof v.Link) return { type: typeName(t), name: str(t.name), href: href(t.href) };
  return { type: typeName(t), id: href(t.id), name: str(t.name) };
}

async function describeObject(obj) {
  if (obj == null) return null;
  if (obj instanceof v.Link) return { type: typeName(obj), href: href(obj.href), name: str(obj.name) };
  const d = { type: typeName(obj), id: href(obj.id) };
  if (v.isActor(obj)) {
    return {
      ...d,
      preferredUsername: str(obj.preferredUsername),
      name: str(obj.name),
      summary: str(obj.summary),
      inbox: href(obj.inboxId),
      sharedInbox: href(obj.endpoints?.sharedInbox),
      publicKey: href(obj.publicKeyId),
    };
  }
  if (obj instanceof v.Tombstone) {
    return { ...d, deleted: instant(obj.deleted), published: instant(obj.published), updated: instant(obj.updated) };
  }
  if (obj instanceof v.Activity) {
    return { ...d, actor: href(obj.actorId), object: href(obj.objectId) };
  }
  const src = obj.source;
  return {
    ...d,
    ...langFields("name", obj.names, obj.name),
    ...langFields("summary", obj.summaries, obj.summary),
    ...langFields("content", obj.contents, obj.content),
    mediaType: obj.mediaType ?? null,
    source: src == null ? null : { content: str(src.content), mediaType: src.mediaType ?? null },
    url: urlOf(obj.url),
    urls: obj.urls.map(urlOf),
    attributedTo: obj.attributionIds.map(href),
    published: instant(obj.published),
    updated: instant(obj.updated),
    to: obj.toIds.map(href),
    cc: obj.ccIds.map(href),
    inReplyTo: href(obj.replyTargetId),
    sensitive: obj.sensitive ?? null,
    replies: href(obj.repliesId),
    tags: (await collect(obj.getTags({ suppressError: true }))).map(describeTag),
    image: (await collect(obj.getImages({ suppressError: true }))).map(describeMedia),
    attachments: (await collect(obj.getAttachments({ suppressError: true }))).map(describeMedia),
    // FEP-044f: who may quote it, as Fedify reads its interactionPolicy.
    canQuote: describePolicy(obj),
  };
}

async function describeActivity(activity, raw) {
  const ev = {
    type: typeName(activity),
    id: href(activity.id),
    actor: href(activity.actorId),
    to: activity.toIds.map(href),
    cc: activity.ccIds.map(href),
    published: instant(activity.published),
    objectEmbedded: raw != null && raw.object != null && typeof raw.object === "object",
    object: null,
  };
  if (ev.objectEmbedded) {
    try {
      ev.object = await describeObject(await activity.getObject());
    } catch (err) {
      ev.object = { id: href(activity.objectId), error: String(err?.message ?? err) };
    }
  } else if (activity.objectId != null) {
    ev.object = { id: href(activity.objectId) };
  }
  return ev;
}

// ---------------------------------------------------------------- inbox

async function onActivity(ctx, activity) {
  const store = requestStore.getStore();
  const ev = await describeActivity(activity, store?.raw);
  emit({
    event: "received",
    ...ev,
    inbox: ctx.recipient == null ? "shared" : "personal",
    raw: store?.raw ?? null,
  });
  const after = (fn) => (store ? store.after.push(fn) : setTimeout(fn, 0));
  await recordQuoteAnswer(activity, ev);

  if (activity instanceof v.Follow) {
    if (href(activity.objectId) !== actorId.href) {
      emit({ event: "error", where: "follow", message: `Follow object ${href(activity.objectId)} is not ${actorId.href}; not accepted` });
      return;
    }
    const follower = await activity.getActor();
    if (follower == null || follower.id == null) {
      emit({ event: "error", where: "follow", message: `cannot resolve follower ${href(activity.actorId)}` });
      return;
    }
    state.followers[follower.id.href] = {
      id: follower.id.href,
      inbox: href(follower.inboxId),
      sharedInbox: href(follower.endpoints?.sharedInbox),
      followId: href(activity.id),
    };
    saveState();
    const accept = new v.Accept({
      id: newId("accept"),
      actor: actorId,
      object: activity,
      to: follower.id,
    });
    await remember(accept);
    // Answer after our 202 went out, as Mastodon does from its job queue.
    after(() => deliver(accept, follower, "accept-follow"));
  } else if (activity instanceof v.Undo) {
    const undone = ev.objectEmbedded ? await activity.getObject().catch(() => null) : null;
    const undoneId = href(activity.objectId);
    for (const [id, f] of Object.entries(state.followers)) {
      const matches =
        (undone instanceof v.Follow && id === href(activity.actorId) && href(undone.objectId) === actorId.href) ||
        (undoneId != null && f.followId === undoneId && id === href(activity.actorId));
      if (matches) {
        delete state.followers[id];
        saveState();
      }
    }
  } else if (activity instanceof v.Accept || activity instanceof v.Reject) {
    const accepted = href(activity.objectId);
    let inner = null;
    if (ev.objectEmbedded) inner = await activity.getObject().catch(() => null);
    for (const f of Object.values(state.following)) {
      const byId = accepted != null && accepted === f.followId;
      const byShape =
        inner instanceof v.Follow && href(inner.objectId) === f.id && href(activity.actorId) === f.id;
      if (byId || byShape) {
        f.state = activity instanceof v.Accept ? "accepted" : "rejected";
        saveState();
      }
    }
  }
}

// ---------------------------------------------------------------- sending

function newId(kind) {
  const prefix = kind === "note" ? "notes" : kind === "article" ? "articles" : `activities/${kind}`;
  return new URL(`/${prefix}/${randomUUID()}`, base);
}

async function remember(obj) {
  state.objects[obj.id.href] = await obj.toJsonLd({ format: "compact" });
  saveState();
}

function ctxNow() {
  return federation.createContext(new URL(base), undefined);
}

// Sends one activity, signed draft-cavage first (firstKnock), to the given
// recipients (an actor object, an array of them, or "followers"), at their
// personal inbox unless preferSharedInbox.  Throws on failure; also records a
// "sent"/"send-failed" event.
async function deliver(activity, recipients, purpose, preferSharedInbox = false) {
  const ctx = ctxNow();
  const info = { type: typeName(activity), id: href(activity.id), purpose };
  try {
    await ctx.sendActivity({ identifier: opts.username }, recipients, activity, {
      immediate: true,
      preferSharedInbox,
    });
    emit({ event: "sent", ...info });
  } catch (err) {
    emit({ event: "send-failed", ...info, message: String(err?.message ?? err) });
    throw err;
  }
}

async function signedLoader(ctx) {
  return await ctx.getDocumentLoader({ identifier: opts.username });
}

async function lookup(ctx, url) {
  const documentLoader = await signedLoader(ctx);
  const obj = await ctx.lookupObject(url, { documentLoader });
  if (obj == null) throw new HttpError(404, `lookupObject(${url}) found nothing`);
  return obj;
}

async function lookupActor(ctx, url) {
  const obj = await lookup(ctx, url);
  if (!v.isActor(obj)) throw new HttpError(422, `${url} is a ${typeName(obj)}, not an actor`);
  return obj;
}

// The actors an object is attributed to (looked up), for delivery.
async function authorsOf(ctx, obj) {
  const ids = obj.attributionIds.map(href);
  if (ids.length === 0) throw new HttpError(422, `${href(obj.id)} has no attributedTo`);
  const actors = [];
  for (const id of ids) actors.push(await lookupActor(ctx, id));
  return actors;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- control API

const control = {
  async "POST /control/follow"(body) {
    const ctx = ctxNow();
    const target = await lookupActor(ctx, requireField(body, "target"));
    const follow = new v.Follow({ id: newId("follow"), actor: actorId, object: target.id, to: target.id });
    await remember(follow);
    state.following[target.id.href] = {
      id: target.id.href,
      inbox: href(target.inboxId),
      followId: follow.id.href,
      state: "pending",
    };
    saveState();
    await deliver(follow, target, "control", body.preferSharedInbox === true);
    return { id: follow.id.href, target: target.id.href };
  },

  // Resolves a key id the way Fedify does when it verifies a signature (the
  // key's document, or the actor document holding it under `publicKey`),
  // without its key cache: did the server serve that key?
  async "POST /control/fetch-key"(body) {
    const ctx = ctxNow();
    const keyId = requireField(body, "keyId");
    const documentLoader = await signedLoader(ctx);
    const { key } = await fetchKey(new URL(keyId), v.CryptographicKey, {
      documentLoader,
      contextLoader: ctx.contextLoader,
    });
    return { keyId, found: key != null, owner: key == null ? null : href(key.ownerId) };
  },

  async "POST /control/undo-follow"(body) {
    const ctx = ctxNow();
    const target = await lookupActor(ctx, requireField(body, "target"));
    const entry = state.following[target.id.href];
    if (entry == null) throw new HttpError(404, `not following ${target.id.href}`);
    const follow = new v.Follow({ id: new URL(entry.followId), actor: actorId, object: target.id });
    const undo = new v.Undo({ id: newId("undo"), actor: actorId, object: follow, to: target.id });
    await remember(undo);
    await deliver(undo, target, "control", body.preferSharedInbox === true);
    delete state.following[target.id.href];
    saveState();
    return { id: undo.id.href, follow: entry.followId };
  },

  async "POST /control/like"(body) {
    const ctx = ctxNow();
    const obj = await lookup(ctx, requireField(body, "object"));
    const authors = await authorsOf(ctx, obj);
    const like = new v.Like({
      id: newId("like"),
      actor: actorId,
      object: obj.id,
      to: authors[0].id,
      ccs: authors.slice(1).map((a) => a.id),
    });
    await remember(like);
    await deliver(like, authors, "control", body.preferSharedInbox === true);
    return { id: like.id.href, object: obj.id.href, to: authors.map((a) => a.id.href) };
  },

  async "POST /control/announce"(body) {
    const ctx = ctxNow();
    const obj = await lookup(ctx, requireField(body, "object"));
    const authors = await authorsOf(ctx, obj);
    const announce = new v.Announce({
      id: newId("announce"),
      actor: actorId,
      object: obj.id,
      published: Temporal.Now.instant(),
      to: v.PUBLIC_COLLECTION,
      ccs: [...authors.map((a) => a.id), ctx.getFollowersUri(opts.username)],
    });
    await remember(announce);
    await deliver(announce, authors, "control", body.preferSharedInbox === true);
    return { id: announce.id.href, object: obj.id.href };
  },

  async "POST /control/reply"(body) {
    const ctx = ctxNow();
    const obj = await lookup(ctx, requireField(body, "inReplyTo"));
    const authors = await authorsOf(ctx, obj);
    const content = body.content ?? "<p>A reply from the Fedify peer.</p>";
    const now = Temporal.Now.instant();
    const note = new v.Note({
      id: newId("note"),
      attribution: actorId,
      content,
      mediaType: "text/html",
      replyTarget: obj.id,
      published: now,
      url: null,
      to: v.PUBLIC_COLLECTION,
      ccs: authors.map((a) => a.id),
    });
    const create = new v.Create({
      id: newId("create"),
      actor: actorId,
      object: note,
      published: now,
      to: v.PUBLIC_COLLECTION,
      ccs: authors.map((a) => a.id),
    });
    await remember(note);
    await remember(create);
    await deliver(create, authors, "control", body.preferSharedInbox === true);
    return { id: create.id.href, note: note.id.href, inReplyTo: obj.id.href };
  },

  // Used by selftest.mjs: publish a fully featured Article to our followers.
  async "POST /control/publish-article"(body) {
    const ctx = ctxNow();
    const id = newId("article");
    const now = Temporal.Now.instant();
    const followersUri = ctx.getFollowersUri(opts.username);
    const mentions = [];
    for (const m of body.mentions ?? []) mentions.push(await lookupActor(ctx, m));
    const article = new v.Article({
      id,
      attribution: actorId,
      names: [
        body.name ?? "Test article",
        new v.LanguageString(body.name ?? "Test article", "en"),
        new v.LanguageString(body.nameFr ?? "Article de test", "fr"),
      ],
      summaries: [
        body.summary ?? "<p>Summary</p>",
        new v.LanguageString(body.summary ?? "<p>Summary</p>", "en"),
        new v.LanguageString(body.summaryFr ?? "<p>Résumé</p>", "fr"),
      ],
      contents: [
        body.content ?? "<p>Body with <a href=\"https://example.com/tags/gazette\">#gazette</a></p>",
        new v.LanguageString(body.content ?? "<p>Body</p>", "en"),
        new v.LanguageString(body.contentFr ?? "<p>Corps</p>", "fr"),
      ],
      mediaType: "text/html",
      source: new v.Source({ content: body.source ?? "Body with #gazette", mediaType: "text/markdown" }),
      url: new URL(`/read/${id.pathname.split("/").pop()}`, base),
      published: now,
      updated: now,
      to: v.PUBLIC_COLLECTION,
      ccs: [followersUri, ...mentions.map((a) => a.id)],
      tags: [
        new v.Hashtag({ name: "#gazette", href: new URL("/tags/gazette", base) }),
        ...mentions.map((a) => new v.Mention({ name: `@${a.preferredUsername}@${a.id.host}`, href: a.id })),
      ],
      image: new v.Image({
        url: new URL("/media/cover.png", base),
        name: "Cover alt text",
        mediaType: "image/png",
      }),
      attachments: [
        new v.Image({ url: new URL("/media/figure.jpg", base), name: "Figure alt text", mediaType: "image/jpeg" }),
      ],
      replies: new URL(`${id.href}/replies`),
    });
    const create = new v.Create({
      id: newId("create"),
      actor: actorId,
      object: article,
      published: now,
      to: v.PUBLIC_COLLECTION,
      ccs: [followersUri, ...mentions.map((a) => a.id)],
    });
    await remember(article);
    await remember(create);
    // Followers plus mentioned actors, each once.
    const recipients = new Map();
    for (const f of Object.values(state.followers)) {
      recipients.set(f.id, {
        id: new URL(f.id),
        inboxId: f.inbox ? new URL(f.inbox) : null,
        endpoints: { sharedInbox: f.sharedInbox ? new URL(f.sharedInbox) : null },
      });
    }
    for (const m of mentions) recipients.set(m.id.href, m);
    if (recipients.size > 0) await deliver(create, [...recipients.values()], "control", body.preferSharedInbox === true);
    return { id: create.id.href, article: id.href, followers: Object.keys(state.followers) };
  },

  // Reads an actor's `featured` collection and an object's `replies`
  // (first page, then every `next`) with Fedify's vocabulary parser, signed
  // like every other lookup, and describes what it found.
  async "POST /control/collections"(body) {
    const ctx = ctxNow();
    const documentLoader = await signedLoader(ctx);
    const out = {};
    if (body.actor != null) {
      const actor = await lookupActor(ctx, requireField(body, "actor"));
      const featured = await actor.getFeatured({ documentLoader });
      if (featured == null) throw new HttpError(422, `${href(actor.id)} has no featured collection`);
      const items = [];
      for await (const item of featured.getItems({ documentLoader, suppressError: true })) {
        items.push({ type: typeName(item), id: href(item.id), url: urlOf(item.url) });
      }
      out.featured = {
        id: href(featured.id),
        type: typeName(featured),
        totalItems: featured.totalItems ?? null,
        itemIds: featured.itemIds.map(href),
        items,
      };
    }
    if (body.object != null) {
      const obj = await lookup(ctx, requireField(body, "object"));
      const replies = await obj.getReplies({ documentLoader });
      if (replies == null) throw new HttpError(422, `${href(obj.id)} has no replies collection`);
      const pages = [];
      let page = await replies.getFirst({ documentLoader });
      const seen = new Set();
      while (page != null && !seen.has(href(page.id)) && pages.length < 50) {
        seen.add(href(page.id));
        pages.push({
          id: href(page.id),
          type: typeName(page),
          partOf: href(page.partOfId),
          next: href(page.nextId),
          itemIds: page.itemIds.map(href),
        });
        page = page.nextId == null ? null : await page.getNext({ documentLoader });
      }
      out.replies = {
        id: href(replies.id),
        type: typeName(replies),
        totalItems: replies.totalItems ?? null,
        first: href(replies.firstId),
        pages,
      };
    }
    return out;
  },

  "GET /control/received"() {
    return events.filter((e) => e.event === "received");
  },
  "GET /control/events"() {
    return events;
  },
  "GET /control/followers"() {
    return Object.values(state.followers);
  },
  "GET /control/following"() {
    return Object.values(state.following);
  },
  "GET /control/info"() {
    return {
      base,
      actor: actorId.href,
      inbox: new URL(`/users/${opts.username}/inbox`, base).href,
      sharedInbox: new URL("/inbox", base).href,
      keyId: new URL("#main-key", actorId).href,
      version: PEER_VERSION,
      node: process.version,
    };
  },
};

// ---------------------------------------------------------------- quote posts (FEP-044f)
//
// POST /control/quote {object, content?}: the peer writes a Note quoting
// `object` (`quote`, `quoteUrl`) and sends its author a QuoteRequest
// (instrument: the Note). The Accept (with its `result`, the stamp) or
// Reject that comes back is kept; GET /control/quotes lists them, and
// POST /control/stamp {stamp} reads a stamp with Fedify's QuoteAuthorization
// class. POST /control/delete-note {note} sends the Delete of a note.

async function recordQuoteAnswer(activity, ev) {
  if (!(activity instanceof v.Accept || activity instanceof v.Reject)) return;
  const requestId = href(activity.objectId);
  const entry = requestId == null ? null : state.quotes[requestId];
  if (entry == null) return;
  entry.state = activity instanceof v.Accept ? "accepted" : "rejected";
  entry.answer = href(activity.id);
  entry.answeredBy = href(activity.actorId);
  entry.stamp = activity instanceof v.Accept ? href(activity.resultId) : null;
  entry.objectEmbedded = ev.objectEmbedded;
  saveState();
}

function describePolicy(obj) {
  const policy = obj.interactionPolicy;
  const rule = policy?.canQuote;
  if (rule == null) return null;
  return {
    automaticApproval: rule.automaticApprovals.map(href),
    manualApproval: rule.manualApprovals.map(href),
  };
}

Object.assign(control, {
  async "POST /control/quote"(body) {
    const ctx = ctxNow();
    const obj = await lookup(ctx, requireField(body, "object"));
    const authors = await authorsOf(ctx, obj);
    const now = Temporal.Now.instant();
    const note = new v.Note({
      id: newId("note"),
      attribution: actorId,
      content: body.content ?? "<p>Quoting this article.</p>",
      mediaType: "text/html",
      quote: obj.id,
      quoteUrl: obj.id,
      published: now,
      to: v.PUBLIC_COLLECTION,
      ccs: authors.map((a) => a.id),
    });
    const request = new v.QuoteRequest({
      id: newId("quoterequest"),
      actor: actorId,
      object: obj.id,
      instrument: note,
      to: authors[0].id,
    });
    await remember(note);
    state.quotes[request.id.href] = { note: note.id.href, object: obj.id.href, state: "pending", stamp: null };
    saveState();
    await deliver(request, authors, "control", body.preferSharedInbox === true);
    return { request: request.id.href, note: note.id.href, object: obj.id.href, canQuote: describePolicy(obj) };
  },

  "GET /control/quotes"() {
    return Object.entries(state.quotes).map(([request, q]) => ({ request, ...q }));
  },

  async "POST /control/stamp"(body) {
    const ctx = ctxNow();
    const documentLoader = await signedLoader(ctx);
    const stamp = await ctx.lookupObject(requireField(body, "stamp"), { documentLoader });
    if (stamp == null) return { found: false };
    return {
      found: true,
      type: typeName(stamp),
      isQuoteAuthorization: stamp instanceof v.QuoteAuthorization,
      id: href(stamp.id),
      attributedTo: stamp.attributionIds.map(href),
      interactingObject: href(stamp.interactingObjectId),
      interactionTarget: href(stamp.interactionTargetId),
    };
  },

  async "POST /control/delete-note"(body) {
    const ctx = ctxNow();
    const noteId = requireField(body, "note");
    const target = await lookupActor(ctx, requireField(body, "to"));
    const del = new v.Delete({
      id: newId("delete"),
      actor: actorId,
      object: new v.Tombstone({ id: new URL(noteId) }),
      to: target.id,
    });
    await deliver(del, target, "control", body.preferSharedInbox === true);
    delete state.objects[noteId];
    saveState();
    return { id: del.id.href, note: noteId };
  },
});

function requireField(body, name) {
  const value = body?.[name];
  if (typeof value !== "string" || value === "") throw new HttpError(400, `"${name}" (a URL string) is required`);
  return value;
}

async function handleControl(req, res, bodyBuf, url) {
  const key = `${req.method} ${url.pathname}`;
  const fn = control[key];
  let status = 200;
  let payload;
  if (fn == null) {
    status = 404;
    payload = { error: `no control endpoint ${key}` };
  } else {
    try {
      let body = {};
      if (bodyBuf.length > 0) {
        try {
          body = JSON.parse(bodyBuf.toString("utf8"));
        } catch {
          throw new HttpError(400, "body must be JSON");
        }
      }
      payload = await fn(body);
    } catch (err) {
      status = err instanceof HttpError ? err.status : 502;
      payload = { error: String(err?.message ?? err) };
    }
  }
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload) + "\n");
}

// ---------------------------------------------------------------- follower synchronisation (FEP-8fcf)
//
// Receiving: every inbox POST carrying `Collection-Synchronization` is
// compared with this peer's own view (its accepted follow of the sender, if
// any) and reported as a "collection-sync" event.  With --sync-followers a
// mismatch is repaired as Mastodon repairs it: the sender's partial
// collection is fetched (signed), and a follow it lists that we do not have
// (or that we have but it does not list) is undone ("follower-sync" event).
// Sending: /control/publish-note-to-followers sends with Fedify's own
// syncCollection option.

const { digest: fedifyDigest } = await import("@fedify/fedify"); // signRequest: imported above

function syncHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

function parseSyncHeader(value) {
  const params = {};
  for (const m of value.matchAll(/([A-Za-z]+)\s*=\s*"([^"]*)"/g)) params[m[1]] = m[2];
  return params.collectionId && params.url && params.digest ? params : null;
}

// GET `url` signed with our RSA key (draft-cavage, as Mastodon signs).
async function signedGet(url) {
  const request = new Request(url, { headers: { accept: "application/activity+json" } });
  const signed = await signRequest(request, keyPairs[0].privateKey, new URL("#main-key", actorId));
  const res = await fetch(signed);
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function followerSyncOnDelivery(headers, raw) {
  const value = headers.get("collection-synchronization");
  if (value == null || raw == null) return;
  const sender = typeof raw.actor === "string" ? raw.actor : (raw.actor?.id ?? null);
  const sync = parseSyncHeader(value);
  const ours = state.following[sender]?.state === "accepted" ? [actorId.href] : [];
  const expected = syncHex(await fedifyDigest(ours));
  const matches = sync != null && sync.digest.toLowerCase() === expected;
  emit({ event: "collection-sync", sender, activity: raw.id ?? null, header: value, sync, expected, matches });
  if (matches || sync == null || !opts.syncFollowers) return;
  const fetched = await signedGet(sync.url);
  const items = fetched.body?.orderedItems ?? fetched.body?.items ?? [];
  const listed = items.map((i) => (typeof i === "string" ? i : i?.id)).includes(actorId.href);
  const following = ours.length > 0;
  let action = "none";
  if (fetched.status === 200 && listed !== following) {
    // Mastodon: a follow only one side knows is undone on both.
    const ctx = ctxNow();
    const target = await lookupActor(ctx, sender);
    const entry = state.following[sender];
    const follow = new v.Follow({
      id: entry?.followId ? new URL(entry.followId) : null,
      actor: actorId,
      object: target.id,
    });
    const undo = new v.Undo({ id: newId("undo"), actor: actorId, object: follow, to: target.id });
    await remember(undo);
    delete state.following[sender];
    saveState();
    await deliver(undo, target, "follower-sync");
    action = "undo";
  }
  emit({ event: "follower-sync", sender, status: fetched.status, listed, following, action });
}

Object.assign(control, {
  // Loses our record of following `target` (data loss on this side).
  "POST /control/forget-following"(body) {
    const target = requireField(body, "target");
    const had = state.following[target] != null;
    delete state.following[target];
    saveState();
    return { target, had };
  },

  // A GET of `url` signed with this actor's key: the status and the body.
  async "POST /control/signed-get"(body) {
    return await signedGet(requireField(body, "url"));
  },

  // A public Note to our followers, with `Collection-Synchronization`.
  async "POST /control/publish-note-to-followers"(body) {
    const ctx = ctxNow();
    const now = Temporal.Now.instant();
    const followersUri = ctx.getFollowersUri(opts.username);
    const note = new v.Note({
      id: newId("note"),
      attribution: actorId,
      content: body.content ?? "<p>A note to my followers.</p>",
      mediaType: "text/html",
      published: now,
      to: v.PUBLIC_COLLECTION,
      ccs: [followersUri],
    });
    const create = new v.Create({
      id: newId("create"),
      actor: actorId,
      object: note,
      published: now,
      to: v.PUBLIC_COLLECTION,
      ccs: [followersUri],
    });
    await remember(note);
    await remember(create);
    await ctxNow().sendActivity({ identifier: opts.username }, "followers", create, {
      immediate: true,
      preferSharedInbox: true,
      syncCollection: true,
    });
    emit({ event: "sent", type: "Create", id: create.id.href, purpose: "followers-synced" });
    return { id: create.id.href, note: note.id.href };
  },
});

// ---------------------------------------------------------------- integrity proofs (FEP-8b32)
//
// What Fedify makes of the Data Integrity proofs Gazette sends: every inbox
// POST carrying one is checked with Fedify's own verifyObject (the
// activity, and an embedded object that has a proof of its own) and a
// "proof" event says whether each verified; /control/verify-object checks
// a document fetched from a URL (or given), and /control/send-signed sends
// Gazette a Create(Note) signed with this peer's Ed25519 key, optionally
// changed after signing ("tamper"), over a valid HTTP signature.

async function verifiedBy(cls, jsonLd) {
  const ctx = ctxNow();
  try {
    const obj = await verifyObject(cls, jsonLd, { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
    return obj != null;
  } catch (err) {
    emit({ event: "error", where: "verify-proof", message: String(err?.message ?? err) });
    return false;
  }
}

async function reportProofs(raw) {
  const objectHasProof = raw.object != null && typeof raw.object === "object" && raw.object.proof != null;
  if (raw.proof == null && !objectHasProof) return;
  emit({
    event: "proof",
    type: typeof raw.type === "string" ? raw.type : null,
    id: typeof raw.id === "string" ? raw.id : null,
    activityProof: raw.proof != null,
    activityVerified: raw.proof != null ? await verifiedBy(v.Activity, raw) : null,
    objectProof: objectHasProof,
    objectVerified: objectHasProof ? await verifiedBy(v.Object, raw.object) : null,
    verificationMethod: raw.proof?.verificationMethod ?? null,
  });
}

function expandPublic(json) {
  const full = "https://www.w3.org/ns/activitystreams#Public";
  const fix = (value) => (value === "as:Public" ? full : Array.isArray(value) ? value.map(fix) : value);
  for (const o of [json, json.object]) {
    if (o == null || typeof o !== "object") continue;
    for (const field of ["to", "cc"]) if (o[field] != null) o[field] = fix(o[field]);
  }
  return json;
}

Object.assign(control, {
  // {url} or {json}: does Fedify verify the document's proofs (all of them,
  // covering its attributedTo/actor)?
  async "POST /control/verify-object"(body) {
    let json = body.json;
    if (json == null) {
      const res = await fetch(requireField(body, "url"), { headers: { accept: "application/activity+json" } });
      if (!res.ok) throw new HttpError(502, `GET ${body.url} answered ${res.status}`);
      json = await res.json();
    }
    return { verified: await verifiedBy(v.Object, json), proof: json.proof ?? null };
  },

  // {inbox, inReplyTo, tamper?}: a Create(Note) replying to inReplyTo,
  // with this peer's Ed25519 proof, HTTP-signed (draft-cavage) with its RSA
  // key; with tamper the note's content is changed after signing.
  async "POST /control/send-signed"(body) {
    const ctx = ctxNow();
    const inbox = requireField(body, "inbox");
    const pairs = await ctx.getActorKeyPairs(opts.username);
    const ed = pairs.find((p) => p.privateKey.algorithm.name === "Ed25519");
    const rsa = pairs.find((p) => p.privateKey.algorithm.name === "RSASSA-PKCS1-v1_5");
    const published = Temporal.Now.instant();
    const note = new v.Note({
      id: newId("note"),
      attribution: actorId,
      content: "<p>Signed by the peer.</p>",
      mediaType: "text/html",
      replyTarget: new URL(requireField(body, "inReplyTo")),
      published,
      to: v.PUBLIC_COLLECTION,
    });
    const create = new v.Create({ id: newId("create"), actor: actorId, object: note, published, to: v.PUBLIC_COLLECTION });
    await remember(note);
    const signed = await signObject(create, ed.privateKey, ed.multikey.id, { contextLoader: ctx.contextLoader });
    // Signed as Fedify sends (its proof covers the public audience written
    // out in full, not the compact "as:Public").
    const json = expandPublic(await signed.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }));
    if (body.tamper === true) json.object.content = "<p>Changed after signing.</p>";
    const request = new Request(inbox, {
      method: "POST",
      headers: { "content-type": "application/activity+json", accept: "application/activity+json" },
      body: JSON.stringify(json),
    });
    const signedRequest = await signRequest(request, rsa.privateKey, rsa.keyId, { spec: "draft-cavage-http-signatures-12" });
    const res = await fetch(signedRequest);
    return { status: res.status, body: (await res.text()).slice(0, 2000), id: json.id, note: json.object.id, proof: json.proof ?? null };
  },
});

// ---------------------------------------------------------------- Node <-> fetch bridge

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

// The key id a request's signature names (RFC 9421 `keyid` or draft-cavage `keyId`).
function signatureKeyId(headers) {
  const field = headers.get("signature-input") ?? headers.get("signature") ?? "";
  return /keyid="([^"]*)"/i.exec(field)?.[1] ?? null;
}

function isInboxPost(method, pathname) {
  return method === "POST" && (pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(pathname));
}

async function handleHttp(req, res) {
  const bodyBuf = await readBody(req);
  const host = req.headers.host ?? `${opts.host}:${port}`;
  const url = new URL(req.url, `http://${host}`);

  if (url.pathname === "/control" || url.pathname.startsWith("/control/")) {
    return await handleControl(req, res, bodyBuf, url);
  }

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && bodyBuf.length > 0;
  const request = new Request(url, { method: req.method, headers, body: hasBody ? bodyBuf : undefined });

  const inbox = isInboxPost(req.method, url.pathname);
  const signature = headers.has("signature-input") ? "rfc9421" : headers.has("signature") ? "draft-cavage" : "none";
  if (opts.refuseCavage && (inbox || req.method === "GET")) {
    const reason = await refusesCavage(request, signature, inbox);
    if (reason != null) {
      // Like a server that dropped draft-cavage: 401 and what it wants instead.
      const components = inbox ? '"@method" "@target-uri" "@authority" "content-digest"' : '"@method" "@target-uri"';
      const message = `${reason}\n`;
      emit({ event: "signed-in", method: req.method, path: url.pathname, signature, status: 401, reason });
      if (inbox) {
        let raw = null;
        try {
          raw = JSON.parse(bodyBuf.toString("utf8"));
        } catch {
          raw = null;
        }
        emit({
          event: "rejected",
          status: 401,
          path: url.pathname,
          type: typeof raw?.type === "string" ? raw.type : null,
          id: typeof raw?.id === "string" ? raw.id : null,
          actor: typeof raw?.actor === "string" ? raw.actor : (raw?.actor?.id ?? null),
          reason: "cavageRefused",
          signatureHeader: req.headers["signature"] ?? null,
          signatureInput: req.headers["signature-input"] ?? null,
          message,
          raw,
        });
      }
      res.writeHead(401, {
        "content-type": "text/plain; charset=utf-8",
        "accept-signature": `sig1=(${components});created`,
      });
      res.end(message);
      return;
    }
  }
  let raw = null;
  if (inbox) {
    try {
      raw = JSON.parse(bodyBuf.toString("utf8"));
    } catch {
      raw = null;
    }
  }
  if (inbox && raw != null) await reportProofs(raw);
  const store = { raw, after: [], unverified: null };
  if (inbox) store.after.push(() => followerSyncOnDelivery(headers, raw));
  const response = await requestStore.run(store, () =>
    federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } }),
      onNotAcceptable: () =>
        new Response("Not acceptable\n", { status: 406, headers: { "content-type": "text/plain", vary: "Accept" } }),
    }),
  );

  const resBody = Buffer.from(await response.arrayBuffer());
  if (signature !== "none") {
    emit({
      event: "signed-in",
      method: req.method,
      path: url.pathname,
      signature,
      status: response.status,
      reason: null,
      keyId: signatureKeyId(headers),
    });
  }
  if (inbox) {
    const text = resBody.toString("utf8").slice(0, 2000);
    const summary = {
      status: response.status,
      path: url.pathname,
      type: typeof raw?.type === "string" ? raw.type : null,
      id: typeof raw?.id === "string" ? raw.id : null,
      actor: typeof raw?.actor === "string" ? raw.actor : (raw?.actor?.id ?? null),
    };
    if (response.status >= 400) {
      emit({
        event: "rejected",
        ...summary,
        reason: store.unverified?.reason ?? null,
        keyId: store.unverified?.keyId ?? null,
        keyFetchStatus: store.unverified?.keyFetchStatus ?? null,
        keyFetchError: store.unverified?.keyFetchError ?? null,
        signatureHeader: req.headers["signature"] ?? null,
        signatureInput: req.headers["signature-input"] ?? null,
        message: text,
        raw,
      });
    } else if (/has already been processed/.test(text)) {
      emit({ event: "duplicate", ...summary });
    }
  }

  const outHeaders = {};
  response.headers.forEach((value, name) => {
    outHeaders[name] = value;
  });
  res.writeHead(response.status, outHeaders);
  res.end(resBody);
  res.once("finish", () => {
    for (const fn of store.after) {
      Promise.resolve()
        .then(fn)
        .catch(() => {}); // deliver() already emitted send-failed
    }
  });
}

// With --refuse-cavage: why a request is refused before Fedify sees it, or
// null. Inbox POSTs must be signed with RFC 9421 (Fedify then verifies them
// as always). The peer's documents need no signature, so an unsigned or
// draft-cavage GET passes, but an RFC 9421 signed GET must verify (with
// Fedify's own verifyRequest).
async function refusesCavage(request, signature, inbox) {
  if (inbox) return signature === "rfc9421" ? null : "only RFC 9421 signatures are accepted";
  if (signature !== "rfc9421") return null;
  const ctx = federation.createContext(request, undefined);
  const key = await verifyRequest(request.clone(), {
    documentLoader: ctx.documentLoader,
    contextLoader: ctx.contextLoader,
  });
  return key == null ? "the RFC 9421 signature of the GET does not verify" : null;
}

// ---------------------------------------------------------------- lifecycle

function shutdown(signal) {
  try {
    saveState();
  } catch {
    // nothing useful to do
  }
  server.close();
  server6.close?.();
  server.closeAllConnections?.();
  server6.closeAllConnections?.();
  emit({ event: "stopped", signal });
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

emit({ event: "listening", base, actor: actorId.href });

// ---------------------------------------------------------------- key rotation: proofs checked against keys as served now
//
// /control/verify-object checks with the federation's document loader,
// which keeps what it fetched for a while; after a key retires, whether
// an old proof still verifies is asked with the signed loader, which
// reads the actor document from the server each time (as fetch-key does).

Object.assign(control, {
  // {json}: does Fedify verify the document's proofs with the keys its
  // signers' documents list now?
  async "POST /control/verify-object-uncached"(body) {
    const ctx = ctxNow();
    const json = body.json;
    if (json == null || typeof json !== "object") throw new HttpError(400, "\"json\" (a JSON object) is required");
    let verified;
    try {
      const documentLoader = await signedLoader(ctx);
      verified = (await verifyObject(v.Object, json, { documentLoader, contextLoader: ctx.contextLoader })) != null;
    } catch (err) {
      emit({ event: "error", where: "verify-proof-uncached", message: String(err?.message ?? err) });
      verified = false;
    }
    return { verified, proof: json.proof ?? null };
  },
});
