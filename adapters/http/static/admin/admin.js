// The staff web interface: signs a moderator or admin in (with the two-factor step when
// the account has it), then shows the screens their role may use. Plain ES modules
// served by the app: no build step, no libraries, no CDN; the page's CSP allows no
// inline script or style. Every screen calls the same REST API as the apps and the CLI,
// which decides what each role may do; the page only hides what the role cannot use.
import { ApiError, api, confirmSignIn, forget, hasToken, signIn, signOut } from "./api.js";
import { $, say } from "./dom.js";
import * as appeals from "./appeals.js";
import * as mfa from "./mfa.js";
import * as queue from "./queue.js";
import * as settings from "./settings.js";
import * as stats from "./stats.js";
import * as users from "./users.js";

const VIEWS = { queue, appeals, users, settings, stats, mfa };
const ADMIN_ONLY = new Set(["settings", "stats"]);
let challenge = null;

const session = {
  me: null,
  // What a failed call shows: a lost session signs out, a staff account without
  // two-factor authentication (when it is required) is told so, the rest is said
  // where it happened.
  failed(error, where) {
    if (error instanceof ApiError && error.status === 401) {
      leave("Your session has ended: sign in again.");
      return;
    }
    if (error.code === "mfa_enrolment_required") $("notice").hidden = false;
    if (where) say(where, error.message, true);
  },
  home() {
    go("queue");
  },
  openCase(id) {
    go("queue", false);
    queue.open(id);
  },
};

function leave(message = "") {
  forget();
  session.me = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("whoami").textContent = "";
  $("mfa").hidden = true;
  $("login").hidden = false;
  say($("login-error"), message, Boolean(message));
}

function go(name, load = true) {
  for (const button of $("nav").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.view === name));
  }
  for (const view of Object.keys(VIEWS)) $(`view-${view}`).hidden = view !== name;
  if (load) VIEWS[name].show(session);
}

async function enter() {
  const me = await api("/v1/me");
  if (me.role !== "moderator" && me.role !== "admin") {
    await signOut();
    throw new Error("This account is not a moderator or an admin.");
  }
  session.me = me;
  document.body.dataset.role = me.role;
  $("whoami").textContent = `@${me.nickname} · ${me.role}`;
  for (const button of $("nav").querySelectorAll("button")) {
    // Admin-only screens are not there for a moderator (the API refuses them anyway).
    button.hidden = ADMIN_ONLY.has(button.dataset.view) && me.role !== "admin";
  }
  $("login").hidden = true;
  $("mfa").hidden = true;
  $("notice").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  go("queue");
}

async function onSignIn(event) {
  event.preventDefault();
  say($("login-error"), "");
  try {
    challenge = await signIn($("email").value, $("password").value);
    if (challenge) {
      $("login").hidden = true;
      $("mfa").hidden = false;
      $("mfa-code").value = "";
      $("mfa-code").focus();
      return;
    }
    await enter();
  } catch (error) {
    say($("login-error"), error.message, true);
  }
}

async function onCode(event) {
  event.preventDefault();
  say($("mfa-error"), "");
  try {
    await confirmSignIn(challenge.mfa_token, $("mfa-code").value.trim());
    challenge = null;
    await enter();
  } catch (error) {
    if (error.code === "invalid_mfa_token") {
      leave("The sign-in took too long: start again.");
      return;
    }
    say($("mfa-error"), error.message, true);
  }
}

$("login").addEventListener("submit", onSignIn);
$("mfa").addEventListener("submit", onCode);
$("mfa-cancel").addEventListener("click", () => leave());
$("logout").addEventListener("click", async () => {
  await signOut();
  leave();
});
$("notice-enrol").addEventListener("click", () => go("mfa"));
$("nav").addEventListener("click", (event) => {
  const view = event.target.closest("button")?.dataset.view;
  if (view) go(view);
});
for (const view of Object.values(VIEWS)) view.mount(session);
if (hasToken()) enter().catch((error) => leave(error.message));
