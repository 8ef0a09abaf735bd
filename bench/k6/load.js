// One open-loop load for the benchmarks (bench/run.py and bench/soak.py start it).
//
// Environment:
//   BASE_URL   the server, e.g. http://127.0.0.1:8080
//   SPEC       a JSON file: {"requests": [{"name", "weight", "kind", ...}], "tokens": [...]}
//              kind "get":      GET `path` with a bearer token (tokens[i], or `token` index)
//              kind "reaction": PUT /v1/videos/{random 1..videos}/reaction, random kind,
//                               by a random token (each token also has its X-Forwarded-For)
//              kind "login":    POST /v1/auth/token, password grant of a random `emails` entry
//              kind "bare":     GET `path`, no token
//   RATE       requests per second (constant-arrival-rate), DURATION e.g. "10s"
//   EXECUTOR   "constant-arrival-rate" (default) or "constant-vus" (VUS clients, closed loop:
//              only for a first estimate of the capacity)
//   SUMMARY    where to write the summary JSON
import http from 'k6/http';
import exec from 'k6/execution';

const spec = JSON.parse(open(__ENV.SPEC));
const rate = Number(__ENV.RATE || 10);
const duration = __ENV.DURATION || '10s';
const executor = __ENV.EXECUTOR || 'constant-arrival-rate';
const vus = Number(__ENV.VUS || 16);
const base = __ENV.BASE_URL;
const kinds = ['heart', 'flame', 'funny', 'angry'];

const scenario = executor === 'constant-vus'
  ? { executor, vus, duration }
  : {
      executor,
      rate,
      timeUnit: '1s',
      duration,
      // Open loop: arrivals do not wait for answers. A VU per request in flight; when
      // all are busy k6 drops the arrival (counted as dropped_iterations: an error here).
      preAllocatedVUs: Math.min(3000, Math.max(50, Math.ceil(rate * 0.25))),
      maxVUs: Math.min(3000, Math.max(100, Math.ceil(rate * 2))),
      gracefulStop: '5s',
    };

export const options = {
  scenarios: { load: scenario },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max', 'count'],
  discardResponseBodies: true,
  noConnectionReuse: false,
  userAgent: 'momentic-bench-k6',
  insecureSkipTLSVerify: true,
};

// Cumulative weights, to pick a request kind per iteration.
const total = spec.requests.reduce((s, r) => s + (r.weight || 1), 0);
const cumulative = [];
let acc = 0;
for (const r of spec.requests) {
  acc += (r.weight || 1) / total;
  cumulative.push(acc);
}

function pick() {
  const x = Math.random();
  for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]) return spec.requests[i];
  return spec.requests[spec.requests.length - 1];
}

function randomInt(n) {
  return 1 + Math.floor(Math.random() * n);
}

function auth(r) {
  const tokens = spec.tokens;
  const t = r.token !== undefined ? tokens[r.token] : tokens[Math.floor(Math.random() * tokens.length)];
  return t;
}

export default function () {
  const r = pick();
  const params = { timeout: '10s', tags: { name: r.name } };
  if (r.kind === 'get') {
    params.headers = auth(r);
    params.responseCallback = http.expectedStatuses(200);
    http.get(base + r.path, params);
  } else if (r.kind === 'bare') {
    params.responseCallback = http.expectedStatuses(200);
    http.get(base + r.path, params);
  } else if (r.kind === 'reaction') {
    params.headers = Object.assign({ 'Content-Type': 'application/json' }, auth(r));
    params.responseCallback = http.expectedStatuses(200);
    const video = r.video_ids
      ? r.video_ids[Math.floor(Math.random() * r.video_ids.length)]
      : randomInt(r.videos);
    const body = JSON.stringify({ kind: kinds[Math.floor(Math.random() * 4)] });
    http.put(`${base}/v1/videos/${video}/reaction`, body, params);
  } else if (r.kind === 'login') {
    const email = r.emails[Math.floor(Math.random() * r.emails.length)];
    params.headers = { 'Content-Type': 'application/json' };
    if (r.forwarded) params.headers['X-Forwarded-For'] = r.forwarded[exec.scenario.iterationInTest % r.forwarded.length];
    params.responseCallback = http.expectedStatuses(200);
    const body = JSON.stringify({
      grant_type: 'password', email, password: r.password, device_name: 'bench',
    });
    http.post(`${base}/v1/auth/token`, body, params);
  } else {
    throw new Error(`unknown request kind ${r.kind}`);
  }
}

function metric(data, name) {
  const m = data.metrics[name];
  return m ? m.values : {};
}

export function handleSummary(data) {
  const d = metric(data, 'http_req_duration');
  const failed = metric(data, 'http_req_failed');
  const reqs = metric(data, 'http_reqs');
  const dropped = metric(data, 'dropped_iterations');
  const out = {
    executor,
    target_rate: executor === 'constant-vus' ? null : rate,
    duration,
    requests: reqs.count || 0,
    rate: reqs.rate || 0,
    failed: Math.round((failed.rate || 0) * (reqs.count || 0)),
    dropped: dropped.count || 0,
    p50_ms: d.med, p90_ms: d['p(90)'], p99_ms: d['p(99)'], max_ms: d.max, avg_ms: d.avg,
    vus_max: metric(data, 'vus_max').value || 0,
  };
  return { [__ENV.SUMMARY]: JSON.stringify(out, null, 2) };
}
