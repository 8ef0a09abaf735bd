// Runtime settings, rating weights and the audit trail (admins). Each setting shows the
// value in force and the one stored over the deployment's; a change or a reset is
// audited, and the entries show beside the table they change.
import { api } from "./api.js";
import { $, fill, h, listing, options, say, when } from "./dom.js";

let session;
let loadAudit;

export function mount(s) {
  session = s;
  fill($("audit-action"), options(Object.keys(AUDIT_ACTIONS), "", AUDIT_ACTIONS));
  loadAudit = listing({
    form: $("audit-filter"), more: $("audit-more"), line: $("audit-line"),
    rows: $("audit").tBodies[0], render: entry, failed: session.failed, load: auditPage,
    counted: (n) => (n ? `${n} entr${n === 1 ? "y" : "ies"}` : "No entries."),
  });
  $("weights-form").addEventListener("submit", saveWeights);
}

export function show() {
  loadSettings();
  loadWeights();
  loadAudit();
}

// ---------------------------------------------------------------- settings

// The editor of one value: a yes/no choice, a number, a list of domains or JSON.
function editor(name, value) {
  if (typeof value === "boolean") {
    return h("select", { name }, options(["true", "false"], String(value)));
  }
  if (typeof value === "number") return h("input", { name, type: "number", step: "any", value: String(value) });
  if (name === "allowed_email_domains") {
    return h("input", { name, type: "text", value: (value || []).join(", "), placeholder: "any domain" });
  }
  return h("textarea", { name, rows: "3", value: JSON.stringify(value ?? null, null, 1) });
}

function read(input) {
  const raw = input.value;
  if (input.tagName === "SELECT") return raw === "true";
  if (input.type === "number") return Number(raw);
  if (input.name === "allowed_email_domains") return raw.split(",").map((d) => d.trim()).filter(Boolean);
  return JSON.parse(raw);
}

const shown = (value) => (value === null || value === undefined ? "—" : JSON.stringify(value));

async function loadSettings() {
  try {
    renderSettings(await api("/v1/admin/settings"));
  } catch (error) {
    session.failed(error, $("settings-line"));
  }
}

function renderSettings(settings) {
  const rows = Object.entries(settings.effective).map(([name, value]) => {
    const input = editor(name, value);
    const stored = settings.stored[name];
    const isSet = stored !== null && !(typeof stored === "object" && !Array.isArray(stored)
      && Object.keys(stored).length === 0);
    return h("tr", { dataset: { setting: name } },
      h("th", { scope: "row" }, name),
      h("td", { class: "effective" }, shown(value)),
      h("td", { class: "stored" }, isSet ? shown(stored) : "deployment value"),
      h("td", {}, input),
      h("td", { class: "buttons" },
        h("button", { class: "small", onclick: () => change(name, () => read(input)) }, "Save"),
        isSet ? h("button", { class: "small secondary", onclick: () => change(name, () => null) }, "Reset") : null));
  });
  fill($("settings").tBodies[0], rows);
}

async function change(name, value) {
  let changes;
  try {
    changes = { [name]: value() };
  } catch {
    say($("settings-line"), `${name}: not valid JSON.`, true);
    return;
  }
  const reason = $("settings-reason").value.trim();
  try {
    renderSettings(await api("/v1/admin/settings", {
      method: "PATCH", body: reason ? { changes, reason } : { changes },
    }));
    say($("settings-line"), `${name} ${changes[name] === null ? "reset" : "saved"}.`);
    loadAudit();
  } catch (error) {
    session.failed(error, $("settings-line"));
  }
}

// ---------------------------------------------------------------- rating weights

async function loadWeights() {
  try {
    const weights = await api("/v1/admin/ranking/weights");
    fill($("weights"), Object.entries(weights).map(([name, value]) =>
      h("label", {}, name.replaceAll("_", " "), " ",
        h("input", { name, type: "number", min: "0", max: "1000", step: "1", value: String(value),
          dataset: { was: value } }))));
  } catch (error) {
    session.failed(error, $("weights-line"));
  }
}

async function saveWeights(event) {
  event.preventDefault();
  const changed = {};
  for (const input of $("weights").querySelectorAll("input")) {
    if (input.value !== input.dataset.was) changed[input.name] = Number(input.value);
  }
  if (!Object.keys(changed).length) {
    say($("weights-line"), "Nothing changed.");
    return;
  }
  try {
    await api("/v1/admin/ranking/weights", { method: "PATCH", body: changed });
    say($("weights-line"), "Saved: every rating is being recomputed.");
    await loadWeights();
    loadAudit();
  } catch (error) {
    session.failed(error, $("weights-line"));
  }
}

// ---------------------------------------------------------------- the audit trail

const AUDIT_ACTIONS = {
  "": "settings and weights", all: "everything", "settings.update": "settings",
  "ranking.weights": "weights", "user.set_role": "roles", "case.resolve": "cases",
  "appeal.accept": "appeals accepted", "appeal.reject": "appeals rejected",
  "user.ban": "bans", "user.suspend": "suspensions", "user.unban": "unbans",
};

// The API filters by one action; settings and weights together are the latest 20 of
// each, merged (pick one action to page further back).
async function auditPage(cursor) {
  const choice = $("audit-action").value;
  if (choice !== "") {
    return api("/v1/admin/audit", { query: { action: choice === "all" ? "" : choice, cursor } });
  }
  const pages = await Promise.all(["settings.update", "ranking.weights"].map((action) =>
    api("/v1/admin/audit", { query: { action, limit: 20 } })));
  return { items: pages.flatMap((p) => p.items).sort((a, b) => b.id - a.id), next_cursor: null };
}

function entry(e) {
  const actor = e.actor_id == null ? "operator" : e.actor_id === session.me.id ? "me" : `#${e.actor_id}`;
  return h("tr", { dataset: { audit: e.id, action: e.action } },
    h("td", {}, when(e.created_at)),
    h("td", {}, actor),
    h("td", {}, e.action),
    h("td", {}, e.target_type ? `${e.target_type}${e.target_id != null ? ` #${e.target_id}` : ""}` : ""),
    h("td", { class: "reason" }, e.reason ?? ""),
    h("td", { class: "data" }, JSON.stringify(e.data)));
}
