// The values the API takes for moderation and administration, as the core defines them
// (momentic_core.model.moderation and accounts; tests/e2e/test_staff_ui.py checks that
// these lists equal the core's enums, so a new value cannot be missing here).

export const CASE_STATUSES = ["open", "resolved"];
export const TARGET_TYPES = ["video", "comment", "user"];
export const REPORT_REASONS = [
  "spam", "nudity", "violence", "harassment", "hate", "self_harm", "illegal", "other",
];
export const ACTIONS = ["dismiss", "remove", "warn", "suspend", "ban"];
export const APPEAL_STATUSES = ["pending", "accepted", "rejected"];
export const ROLES = ["user", "moderator", "admin"];
export const ACCOUNT_STATUSES = ["active", "suspended", "banned"];

// How far each role reaches (policies/permissions._RANK): staff act on lower roles only.
export const rank = (role) => ROLES.indexOf(role);
