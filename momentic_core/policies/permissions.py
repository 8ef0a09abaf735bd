"""Who may do what. Every authorization decision of the domain is made here."""

from __future__ import annotations

from momentic_core.errors import Forbidden
from momentic_core.model.accounts import Role

_RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def at_least(role: Role, needed: Role) -> bool:
    return _RANK[role] >= _RANK[needed]


def require_role(role: Role, needed: Role) -> None:
    """Raises Forbidden(code="insufficient_role") unless ``role`` is ``needed`` or above."""
    if not at_least(role, needed):
        raise Forbidden(f"This needs the {needed.value} role.", code="insufficient_role")


def can_see_hidden_accounts(role: Role) -> bool:
    """Moderators and admins see banned and suspended accounts; others do not."""
    return at_least(role, Role.MODERATOR)


def can_see_emails(role: Role) -> bool:
    """Only admins see (and search by) users' email addresses; moderators judge content
    and conduct, which needs no one's address."""
    return at_least(role, Role.ADMIN)


def not_yours_to_delete(role: Role, what: str, who_may: str) -> Forbidden:
    """The refusal of a delete of someone else's ``what``. Staff are sent to moderation:
    a case resolved with ``remove`` keeps the rank rule (never an equal or higher rank),
    the audit trail, the author's notification and an appeal, and the content stays
    restorable; a hard delete would have none of these. Everyone else is not the author
    (``who_may`` says who is)."""
    if at_least(role, Role.MODERATOR):
        return Forbidden(
            f"Staff remove someone else's {what} through moderation: report it "
            "(POST /v1/reports), then resolve its case with remove.",
            code="moderation_required",
        )
    return Forbidden(f"Only {who_may} deletes a {what}.", code="not_author")
