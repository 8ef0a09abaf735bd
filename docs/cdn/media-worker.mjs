// Momentic's media edge: a Cloudflare Worker in front of the media bucket (R2), the one
// reader of a bucket that has no public access. README "Media behind a CDN" describes it.
//
//   GET /<key>                  only keys under avatars/ (shown on every author card)
//   GET /s/<exp>/<sig>/<key>    any key of the token's folder, until <exp> (unix seconds)
//
// <sig> is the unpadded base64url HMAC-SHA256, under EDGE_KEY (the app's
// MOMENTIC_MEDIA_EDGE_KEY), of "<exp>\n<scope>", <scope> being the key's first two
// segments and a slash ("videos/<random>/": one video's folder, its HLS files included,
// whose playlists name them by relative URIs that keep the token). The same check as
// adapters/media_urls.py MediaTokens.parse; tests/unit/test_media_worker.py runs both on
// the same paths under node. Anything else answers 404 media_not_found, as the app does.
//
// Bindings: MEDIA (the R2 bucket), EDGE_KEY (a secret: `wrangler secret put EDGE_KEY`),
// BASE_PATH (optional: "/media" when the worker is routed at example.com/media/*).

const TOKEN = "s";
const PLAIN_PREFIXES = ["avatars/"];
const MAX_KEY_BYTES = 1024;
const MAX_EXP_DIGITS = 19;
const encoder = new TextEncoder();

/** The rule of momentic_core/policies/media.py check_blob_key: relative, at most 1024
 * bytes, no empty or dot segments, no backslash, no control characters. */
export function validKey(key) {
  if (typeof key !== "string" || key === "" || key.startsWith("/") || key.includes("\\")) {
    return false;
  }
  if (encoder.encode(key).length > MAX_KEY_BYTES) return false;
  for (const ch of key) {
    const code = ch.codePointAt(0);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return key.split("/").every((segment) => segment !== "" && !segment.startsWith("."));
}

/** What a token covers: "<first>/<second>/"; null for a key of fewer than 3 segments. */
export function tokenScope(key) {
  const parts = key.split("/");
  return parts.length < 3 ? null : `${parts[0]}/${parts[1]}/`;
}

export function plainKey(key) {
  return PLAIN_PREFIXES.some((prefix) => key.startsWith(prefix));
}

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function sameText(a, b) {
  // Constant time for equal lengths (a signature's length is public).
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const keys = new Map();

async function hmacKey(secret) {
  let key = keys.get(secret);
  if (key === undefined) {
    key = await crypto.subtle.importKey(
      "raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/** The signature of a scope until exp (a decimal string without leading zeros). */
export async function sign(secret, scope, exp) {
  const mac = await crypto.subtle.sign(
    "HMAC", await hmacKey(secret), encoder.encode(`${exp}\n${scope}`));
  return base64url(mac);
}

/** {key, exp} of a token path ("s/<exp>/<sig>/<key>", decoded, without the leading
 * slash) that is signed under secret and not expired at now (unix seconds); else null.
 * Never throws for bad input. */
export async function verifyToken(path, secret, now) {
  if (typeof path !== "string" || !secret) return null;
  const parts = path.split("/");
  if (parts.length < 4 || parts[0] !== TOKEN) return null;
  const [, expText, sig] = parts;
  const key = parts.slice(3).join("/");
  if (!/^[0-9]+$/.test(expText) || expText.length > MAX_EXP_DIGITS) return null;
  if (!validKey(key)) return null;
  const scope = tokenScope(key);
  if (scope === null) return null;
  const exp = BigInt(expText); // signed as a number: "02000" is 2000, as in Python
  const expected = await sign(secret, scope, exp.toString());
  if (!sameText(expected, sig) || !(now < Number(exp))) return null;
  return { key, exp: Number(exp) };
}

/** The Cache-Control of an object served at an expiring URL: kept by the one client,
 * as long as the URL lasts, immutable when the stored object is (the app's
 * served_cache_control). */
export function servedCacheControl(stored, secondsLeft) {
  const age = Math.max(0, Math.floor(secondsLeft));
  const immutable = stored && stored.includes("immutable") ? ", immutable" : "";
  return `private, max-age=${age}${immutable}`;
}

function notFound() {
  const body = {
    type: "https://momentic.app/problems/media_not_found",
    title: "Not Found",
    status: 404,
    detail: "No such media, or the link expired.",
    code: "media_not_found",
  };
  return new Response(JSON.stringify(body), {
    status: 404,
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store" },
  });
}

/** The key and the Cache-Control to answer with, for a request path; null: refuse. */
export async function route(pathname, env, now) {
  let path = pathname;
  const base = (env.BASE_PATH || "").replace(/\/+$/, "");
  if (base) {
    if (!path.startsWith(`${base}/`)) return null;
    path = path.slice(base.length);
  }
  try {
    path = decodeURIComponent(path.slice(1));
  } catch {
    return null;
  }
  if (path.startsWith(`${TOKEN}/`)) {
    const found = await verifyToken(path, env.EDGE_KEY, now);
    if (found === null) return null;
    return { key: found.key, cacheControl: (stored) => servedCacheControl(stored, found.exp - now) };
  }
  if (validKey(path) && plainKey(path)) {
    return { key: path, cacheControl: (stored) => stored || "public, max-age=3600" };
  }
  return null; // a video's file by plain key: never
}

function answer(stored, found, request) {
  // The cached or stored response, with the Cache-Control of the URL that reached it.
  const headers = new Headers(stored.headers);
  headers.set("Cache-Control", found.cacheControl(stored.headers.get("Cache-Control")));
  headers.set("X-Content-Type-Options", "nosniff");
  const body = request.method === "HEAD" ? null : stored.body;
  return new Response(body, { status: stored.status, headers });
}

function etagListMatches(field, etag) {
  // If-Match compares strongly (RFC 9110 §13.1.1): "*" or one of the listed strong tags.
  if (field.trim() === "*") return true;
  return field.split(",").map((t) => t.trim()).some((t) => !t.startsWith("W/") && t === etag);
}

function unmetStatus(headers, object) {
  // R2 answered without a body: a precondition of the request failed. In RFC 9110's
  // order (§13.2.2) a failed If-Match, or without one a failed If-Unmodified-Since, is
  // 412 Precondition Failed; only If-None-Match or If-Modified-Since make it 304.
  if (headers.has("If-Match")) {
    if (!etagListMatches(headers.get("If-Match"), object.httpEtag)) return 412;
  } else if (headers.has("If-Unmodified-Since")) {
    const since = Date.parse(headers.get("If-Unmodified-Since"));
    const uploaded = object.uploaded ? Math.floor(object.uploaded.getTime() / 1000) * 1000 : NaN;
    if (!Number.isNaN(since) && !Number.isNaN(uploaded) && uploaded > since) return 412;
  }
  return 304;
}

async function read(request, key, env) {
  // R2 answers ranges and conditional requests itself.
  const object = await env.MEDIA.get(key, { range: request.headers, onlyIf: request.headers });
  if (object === null) return null;
  const headers = new Headers();
  object.writeHttpMetadata(headers); // Content-Type, and the Cache-Control stored with it
  headers.set("ETag", object.httpEtag);
  headers.set("Accept-Ranges", "bytes");
  if (!("body" in object) || object.body === undefined) {
    return new Response(null, { status: unmetStatus(request.headers, object), headers });
  }
  let status = 200;
  if (object.range && request.headers.has("Range")) {
    const offset = object.range.offset ?? object.size - object.range.suffix;
    const length = object.range.length ?? object.size - offset;
    headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    status = 206;
  }
  return new Response(object.body, { status, headers });
}

export default {
  async fetch(request, env, ctx) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    const url = new URL(request.url);
    const found = await route(url.pathname, env, Date.now() / 1000);
    if (found === null) return notFound();
    // The edge cache keeps one copy per object, keyed by the object's key and never by
    // the token: every URL of it, from any instance and with any token, shares it.
    const cache = globalThis.caches?.default;
    const whole = request.method === "GET" && !["Range", "If-None-Match", "If-Modified-Since",
      "If-Match", "If-Unmodified-Since"].some((name) => request.headers.has(name));
    const cacheKey = new Request(`${url.origin}/__objects/${encodeURI(found.key)}`);
    if (cache && whole) {
      const hit = await cache.match(cacheKey);
      if (hit) return answer(hit, found, request);
    }
    const stored = await read(request, found.key, env);
    if (stored === null) return notFound();
    if (cache && whole && stored.status === 200 && ctx) {
      ctx.waitUntil(cache.put(cacheKey, stored.clone()));
    }
    return answer(stored, found, request);
  },
};
