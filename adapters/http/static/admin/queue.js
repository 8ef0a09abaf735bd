// The case queue (moderators and admins): filter, assign to me, open a case with the
// reported content and its reports, decide it with a reason.
import { api } from "./api.js";
import { $, fill, h, listing, options, say, when } from "./dom.js";
import { ACTIONS, CASE_STATUSES, REPORT_REASONS, TARGET_TYPES } from "./enums.js";

let session;
let reload;

export function mount(s) {
  session = s;
  fill($("queue-status"), options([...CASE_STATUSES, "all"], "open"));
  fill($("queue-type"), options(["all", ...TARGET_TYPES], "all"));
  fill($("queue-reason"), options(["all", ...REPORT_REASONS], "all"));
  reload = listing({
    form: $("queue-filter"), more: $("cases-more"), line: $("queue-line"),
    rows: $("cases").tBodies[0], render: row, failed: session.failed,
    load: (cursor) => api("/v1/mod/cases", {
      query: {
        status: $("queue-status").value, target_type: $("queue-type").value,
        reason: $("queue-reason").value, cursor,
      },
    }),
    counted: (n) => (n ? `${n} case(s)` : "No cases."),
  });
}

export function show() {
  return reload();
}

function who(id) {
  if (id == null) return "";
  return id === session.me.id ? "me" : `#${id}`;
}

function row(c) {
  const assign = c.status === "open" && c.assignee_id !== session.me.id
    ? h("button", { class: "small", onclick: (e) => { e.stopPropagation(); take(c.id); } },
      "Assign to me")
    : null;
  return h("tr", { dataset: { case: c.id }, class: "clickable", onclick: () => open(c.id) },
    h("td", {}, `#${c.id}`),
    h("td", {}, `${c.target_type} #${c.target_id}`, h("div", { class: "muted" }, preview(c))),
    h("td", {}, c.reasons.join(", ")),
    h("td", { class: "num" }, c.report_count),
    h("td", {}, c.status, c.held ? " (held)" : ""),
    h("td", { class: "assignee" }, who(c.assignee_id)),
    h("td", {}, when(c.opened_at)),
    h("td", {}, assign));
}

function preview(c) {
  const t = c.target;
  if (!t) return "gone";
  const text = t.text || "";
  return `${t.owner ? `@${t.owner.nickname} ` : ""}${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

async function take(id) {
  try {
    await api(`/v1/mod/cases/${id}/assign`, { method: "POST" });
    await reload();
    say($("queue-line"), `Case #${id} is yours.`);
    if ($("case").dataset.case === String(id)) await open(id);
  } catch (error) {
    session.failed(error, $("queue-line"));
  }
}

// Opens a case in the panel beside the list (also from the appeals screen).
export async function open(id) {
  const panel = $("case");
  panel.hidden = false;
  panel.dataset.case = String(id);
  fill(panel, h("p", {}, "Loading…"));
  try {
    render(await api(`/v1/mod/cases/${id}`));
  } catch (error) {
    fill(panel, h("p", { class: "error" }));
    session.failed(error, panel.firstChild);
  }
}

function render(c) {
  const panel = $("case");
  const t = c.target;
  const target = t
    ? h("section", { class: "target" },
      h("h4", {}, `Reported ${t.type} #${t.id}`),
      t.thumbnail_url ? h("img", { src: t.thumbnail_url, alt: "thumbnail", class: "thumb" }) : null,
      h("dl", {},
        h("dt", {}, "Owner"),
        h("dd", { class: "owner" }, t.owner
          ? [`@${t.owner.nickname}`, [t.owner.name, t.owner.surname].filter(Boolean).length
            ? ` (${[t.owner.name, t.owner.surname].filter(Boolean).join(" ")})` : "",
          ` #${t.owner.id}`]
          : `#${c.owner_id}`),
        h("dt", {}, t.type === "user" ? "Bio" : t.type === "video" ? "Description" : "Text"),
        h("dd", { class: "text" }, t.text ?? ""),
        h("dt", {}, "Status"), h("dd", { class: "target-status" }, t.status),
        t.video_id && t.type !== "video"
          ? [h("dt", {}, "Video"), h("dd", {}, `#${t.video_id}`)] : null))
    : h("p", { class: "muted" }, "The reported content is gone.");
  const reports = h("ol", { class: "reports" }, c.reports.map((r) =>
    h("li", {},
      h("strong", {}, r.reason), " ",
      h("span", { class: "note" }, r.note ?? ""),
      h("div", { class: "muted" }, `reporter #${r.reporter_id} · ${when(r.created_at)}`))));
  const decided = c.status === "resolved"
    ? h("p", { class: "decision" },
      `Resolved: ${c.action} by ${who(c.decided_by)} on ${when(c.decided_at)}. `,
      h("em", {}, c.decision_reason ?? ""),
      c.suspended_until ? ` Suspended until ${when(c.suspended_until)}.` : "")
    : null;
  fill(panel,
    h("header", {},
      h("h3", {}, `Case #${c.id}`),
      h("span", { class: "muted" },
        `${c.status}${c.held ? ", held" : ""} · ${c.report_count} report(s) · assignee ${who(c.assignee_id) || "none"}`),
      h("button", { class: "link", onclick: () => { panel.hidden = true; } }, "Close")),
    target,
    h("h4", {}, "Reports"), reports,
    decided,
    c.status === "open" ? actForm(c) : null);
}

function actForm(c) {
  const allowed = ACTIONS.filter((a) => !(a === "remove" && c.target_type === "user"));
  const action = h("select", { id: "act-action", name: "action" }, options(allowed, "dismiss"));
  const hours = h("input", {
    id: "act-hours", type: "number", min: "1", max: String(365 * 24), value: "24",
  });
  const hoursLabel = h("label", { hidden: true }, "Hours ", hours);
  action.addEventListener("change", () => { hoursLabel.hidden = action.value !== "suspend"; });
  const reason = h("textarea", {
    id: "act-reason", required: true, maxlength: "500", rows: "2",
    placeholder: "Why (the owner is told)",
  });
  const line = h("p", { id: "act-line", role: "status" });
  const assign = c.assignee_id !== session.me.id
    ? h("button", { type: "button", class: "secondary", onclick: () => take(c.id) },
      "Assign to me")
    : null;
  return h("form", {
    id: "act", class: "act",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { action: action.value, reason: reason.value };
      if (action.value === "suspend") body.duration_seconds = Math.round(Number(hours.value) * 3600);
      try {
        const done = await api(`/v1/mod/cases/${c.id}/resolve`, { method: "POST", body });
        await reload();
        say($("queue-line"), `Case #${done.id} resolved: ${done.action}.`);
        await open(c.id);
      } catch (error) {
        session.failed(error, line);
      }
    },
  },
  h("h4", {}, "Decide"),
  h("label", {}, "Action ", action), hoursLabel,
  h("label", { class: "wide" }, "Reason ", reason),
  h("div", { class: "buttons" }, h("button", { type: "submit" }, "Decide"), assign),
  line);
}
