// The REST API with the staff member's token. The tokens live in this tab's
// sessionStorage (gone when the tab closes); an expired access token is refreshed once.

const ACCESS = "momentic-staff-token";
const REFRESH = "momentic-staff-refresh";
const DEVICE = "staff web interface";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.body = body;
  }
}

export const hasToken = () => Boolean(sessionStorage.getItem(ACCESS));

function keep(pair) {
  sessionStorage.setItem(ACCESS, pair.access_token);
  if (pair.refresh_token) sessionStorage.setItem(REFRESH, pair.refresh_token);
}

export function forget() {
  sessionStorage.removeItem(ACCESS);
  sessionStorage.removeItem(REFRESH);
}

async function send(path, method, body) {
  const headers = {};
  const token = sessionStorage.getItem(ACCESS);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function refresh() {
  const refreshToken = sessionStorage.getItem(REFRESH);
  if (!refreshToken) return false;
  try {
    keep(await send("/v1/auth/token", "POST", {
      grant_type: "refresh_token", refresh_token: refreshToken, device_name: DEVICE,
    }));
    return true;
  } catch {
    forget();
    return false;
  }
}

// api("/v1/mod/cases", {query: {status: "open"}}); api(path, {method: "POST", body: {...}})
export async function api(path, { method = "GET", body, query } = {}) {
  const url = query ? `${path}?${new URLSearchParams(clean(query))}` : path;
  try {
    return await send(url, method, body);
  } catch (error) {
    if (error.code === "token_expired" && (await refresh())) return send(url, method, body);
    throw error;
  }
}

function clean(query) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== "" && v != null));
}

// Step one: email and password. Resolves to null when signed in, or to the challenge
// ({mfa_token, expires_in}) when the account has two-factor authentication.
export async function signIn(email, password) {
  forget();
  try {
    keep(await send("/v1/auth/token", "POST", {
      grant_type: "password", email, password, device_name: DEVICE,
    }));
    return null;
  } catch (error) {
    if (error.code === "mfa_required" && error.body.mfa_token) return error.body;
    throw error;
  }
}

// Step two: the code from the authenticator app (or a recovery code).
export async function confirmSignIn(mfaToken, code) {
  keep(await send("/v1/auth/2fa", "POST", { mfa_token: mfaToken, code, device_name: DEVICE }));
}

export async function signOut() {
  if (hasToken()) await send("/v1/auth/logout", "POST").catch(() => {});
  forget();
}
