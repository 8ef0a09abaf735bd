"""The media edge (docs/cdn/media-worker.mjs, a Cloudflare Worker) run under node, the
same V8 Web APIs (Web Crypto, fetch's Request/Response/Headers, URL): ``verify`` asks its
``verifyToken`` about token paths, ``fetch`` sends requests to its ``fetch`` handler with
an R2 binding stood in by a dict of objects. One node process per call, every case in it."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "docs" / "cdn" / "media-worker.mjs"
NODE = shutil.which("node") or "node"
RUN_FOR = 60.0  # hang guard, not a timing assertion

_DRIVER = r"""
import * as worker from %(worker)s;
const input = JSON.parse(await new Promise((done) => {
  let text = "";
  process.stdin.on("data", (d) => (text += d));
  process.stdin.on("end", () => done(text));
}));

function bucket(objects) {
  return {
    async get(key, options = {}) {
      const o = objects[key];
      if (o === undefined) return null;
      const bytes = Uint8Array.from(atob(o.body), (c) => c.charCodeAt(0));
      const etag = `"${o.etag}"`;
      const meta = {
        size: bytes.length, httpEtag: etag,
        writeHttpMetadata(h) {
          h.set("Content-Type", o.contentType);
          if (o.cacheControl) h.set("Cache-Control", o.cacheControl);
        },
      };
      meta.uploaded = new Date(o.uploaded * 1000);
      // R2's onlyIf: an unmet precondition answers the metadata without a body.
      const h = options.onlyIf;
      const ifMatch = h && h.get && h.get("If-Match");
      if (ifMatch && ifMatch !== "*" && !ifMatch.split(",").map((t) => t.trim()).includes(etag)) {
        return meta;
      }
      const unmodified = h && h.get && h.get("If-Unmodified-Since");
      if (!ifMatch && unmodified && o.uploaded * 1000 > Date.parse(unmodified)) return meta;
      if (h && h.get && h.get("If-None-Match") === etag) return meta; // no body
      const range = options.range && options.range.get && options.range.get("Range");
      if (range) {
        const [a, b] = range.replace("bytes=", "").split("-").map(Number);
        const end = Math.min(b + 1, bytes.length);
        return { ...meta, range: { offset: a, length: end - a },
                 body: new Blob([bytes.slice(a, end)]).stream() };
      }
      return { ...meta, body: new Blob([bytes]).stream() };
    },
  };
}

const out = [];
for (const c of input.cases) {
  if (c.op === "verify") {
    out.push(await worker.verifyToken(c.path, c.secret, c.now));
  } else if (c.op === "fetch") {
    Date.now = () => c.now * 1000;
    const env = { EDGE_KEY: c.secret, MEDIA: bucket(c.objects), BASE_PATH: c.base_path };
    const response = await worker.default.fetch(
      new Request(c.url, { method: c.method, headers: c.headers }), env, undefined);
    const body = new Uint8Array(await response.arrayBuffer());
    out.push({ status: response.status, headers: Object.fromEntries(response.headers),
               body: btoa(String.fromCharCode(...body)) });
  }
}
process.stdout.write(JSON.stringify(out));
"""


def _run(cases: list[dict[str, Any]]) -> list[Any]:
    driver = _DRIVER % {"worker": json.dumps(WORKER.as_uri())}
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", driver], input=json.dumps({"cases": cases}),
        capture_output=True, text=True, timeout=RUN_FOR, check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def verify(secret: str, now: float, paths: list[str]) -> list[tuple[str, int] | None]:
    """What the edge's ``verifyToken`` says of each token path (``s/<exp>/<sig>/<key>``)."""
    found = _run([{"op": "verify", "path": p, "secret": secret, "now": now} for p in paths])
    return [None if f is None else (f["key"], f["exp"]) for f in found]


@attrs.frozen
class Stored:
    body: bytes
    content_type: str = "video/mp4"
    cache_control: str | None = "public, max-age=31536000, immutable"
    etag: str = "e1"
    uploaded: int = 1_700_000_000  # Unix seconds (R2's ``uploaded``)


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def fetch(
    secret: str, now: float, objects: dict[str, Stored],
    requests: list[tuple[str, str, dict[str, str]]], base_path: str = "",
) -> list[Answer]:
    """The edge's answers to ``(method, url, headers)`` requests, over a bucket of
    ``objects``, at ``now``."""
    stored = {
        key: {"body": base64.b64encode(o.body).decode(), "contentType": o.content_type,
              "cacheControl": o.cache_control, "etag": o.etag,
              "uploaded": o.uploaded}
        for key, o in objects.items()
    }
    found = _run([
        {"op": "fetch", "url": url, "method": method, "headers": headers, "now": now,
         "secret": secret, "objects": stored, "base_path": base_path}
        for method, url, headers in requests
    ])
    return [Answer(f["status"], f["headers"], base64.b64decode(f["body"])) for f in found]
