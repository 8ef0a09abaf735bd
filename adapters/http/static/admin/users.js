// Users (moderators and admins): search with strikes; ban, suspend and lift them for
// accounts of a lower role; admins also see email addresses and change roles.
import { api } from "./api.js";
import { $, fill, h, listing, options, say, when } from "./dom.js";
import { ACCOUNT_STATUSES, ROLES, rank } from "./enums.js";

let session;
let reload;

export function mount(s) {
  session = s;
  fill($("user-role"), options(["", ...ROLES], "", { "": "any" }));
  fill($("user-status"), options(["", ...ACCOUNT_STATUSES], "", { "": "any" }));
  reload = listing({
    form: $("user-filter"), more: $("users-more"), line: $("user-line"),
    rows: $("users").tBodies[0], render: row, failed: session.failed,
    load: (cursor) => api("/v1/admin/users", {
      query: {
        q: $("user-q").value.trim(), role: $("user-role").value,
        status: $("user-status").value, cursor,
      },
    }),
    counted: (n) => (n ? `${n} user(s)` : "Nobody found."),
  });
}

export function show() {
  return reload();
}

const isAdmin = () => session.me.role === "admin";

function row(u) {
  const name = [u.name, u.surname].filter(Boolean).join(" ");
  return h("tr", { dataset: { user: u.id }, class: "clickable", onclick: () => detail(u) },
    h("td", {}, `#${u.id}`),
    h("td", { class: "nickname" }, `@${u.nickname}`),
    h("td", { class: "name" }, name),
    h("td", { class: "admin-only" }, u.email ?? ""),
    h("td", {}, u.role),
    h("td", {}, u.status, u.suspended_until ? ` until ${when(u.suspended_until)}` : ""),
    h("td", { class: "num strikes" }, u.strikes),
    h("td", {}, when(u.created_at)));
}

function detail(u) {
  const panel = $("user-detail");
  panel.hidden = false;
  panel.dataset.user = String(u.id);
  const mine = u.id === session.me.id;
  const lower = rank(u.role) < rank(session.me.role);
  fill(panel,
    h("header", {},
      h("h3", {}, `@${u.nickname}`),
      h("span", { class: "muted" }, `#${u.id} · ${u.role} · ${u.status} · ${u.strikes} strike(s)`),
      h("button", { class: "link", onclick: () => { panel.hidden = true; } }, "Close")),
    !mine && lower ? accountForm(u) : h("p", { class: "muted" },
      mine ? "This is you." : "Only accounts of a lower role can be banned or suspended."),
    isAdmin() && !mine ? roleForm(u) : null);
}

function accountForm(u) {
  const actions = u.status === "active" ? ["suspend", "ban"] : ["unban"];
  const action = h("select", { id: "account-action" }, options(actions, actions[0]));
  const hours = h("input", { id: "account-hours", type: "number", min: "1", value: "24" });
  const hoursLabel = h("label", { hidden: action.value !== "suspend" }, "Hours ", hours);
  action.addEventListener("change", () => { hoursLabel.hidden = action.value !== "suspend"; });
  const reason = h("input", {
    id: "account-reason", type: "text", maxlength: "500", placeholder: "Reason (the user is told)",
  });
  const line = h("p", { role: "status" });
  return h("form", {
    class: "act",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { reason: reason.value };
      if (action.value === "suspend") body.duration_seconds = Math.round(Number(hours.value) * 3600);
      try {
        const done = await api(`/v1/mod/users/${u.id}/${action.value}`, { method: "POST", body });
        await reload();
        say($("user-line"), `@${u.nickname} is ${done.status}.`);
        panel().hidden = true;
      } catch (error) {
        session.failed(error, line);
      }
    },
  }, h("h4", {}, "Account"), h("label", {}, "Action ", action), hoursLabel,
  h("label", { class: "wide" }, "Reason ", reason),
  h("button", { type: "submit" }, "Apply"), line);
}

const panel = () => $("user-detail");

function roleForm(u) {
  const role = h("select", { id: "role-select" }, options(ROLES, u.role));
  const line = h("p", { role: "status" });
  return h("form", {
    id: "role-form", class: "act",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const done = await api(`/v1/admin/users/${u.id}/role`, {
          method: "PUT", body: { role: role.value },
        });
        await reload();
        say($("user-line"), `@${u.nickname} is now ${done.role}.`);
        panel().hidden = true;
      } catch (error) {
        session.failed(error, line);
      }
    },
  }, h("h4", {}, "Role"), h("label", {}, "Role ", role),
  h("button", { type: "submit" }, "Change role"), line,
  h("p", { class: "muted" },
    "A promotion keeps their sessions; a lower role signs them out of every device."));
}
