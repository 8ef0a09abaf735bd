// Two-factor authentication for the signed-in staff member: its status, and enrolment
// (the secret and its otpauth URI to type or paste into an authenticator app, a code
// to confirm, the ten recovery codes shown once). When the runtime setting
// staff_mfa_required is on, staff routes refuse an account without it, and this screen
// is where the staff member turns it on. Turning it off stays in the app (it takes the
// password).
import { api } from "./api.js";
import { $, fill, h, say } from "./dom.js";

let session;

export function mount(s) {
  session = s;
  $("enrol-start").addEventListener("click", start);
  $("enrol-form").addEventListener("submit", confirm);
  $("enrol-continue").addEventListener("click", () => session.home());
}

export async function show() {
  for (const id of ["enrol-form", "enrol-done"]) $(id).hidden = true;
  $("enrol-start").hidden = true;
  try {
    const status = await api("/v1/me/2fa");
    if (status.enabled) {
      say($("mfa-status"), `On: ${status.recovery_codes_left} recovery code(s) left.`);
    } else {
      say($("mfa-status"), "Off: your account signs in with the password alone.");
      $("enrol-start").hidden = false;
    }
  } catch (error) {
    session.failed(error, $("mfa-status"));
  }
}

async function start() {
  try {
    const made = await api("/v1/me/2fa", { method: "POST" });
    $("enrol-secret").textContent = made.secret;
    $("enrol-uri").textContent = made.otpauth_uri;
    // The API's SVG as an image (img-src allows data:); never parsed into the page.
    $("enrol-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(made.qr_svg)}`;
    $("enrol-code").value = "";
    $("enrol-start").hidden = true;
    $("enrol-form").hidden = false;
    say($("enrol-line"), "");
  } catch (error) {
    session.failed(error, $("mfa-status"));
  }
}

async function confirm(event) {
  event.preventDefault();
  try {
    const done = await api("/v1/me/2fa/confirm", {
      method: "POST", body: { code: $("enrol-code").value.trim() },
    });
    fill($("recovery-codes"), done.recovery_codes.map((code) => h("li", {}, code)));
    $("enrol-form").hidden = true;
    $("enrol-done").hidden = false;
    $("notice").hidden = true;
    say($("mfa-status"), "On.");
  } catch (error) {
    session.failed(error, $("enrol-line"));
  }
}
