# ruff: noqa: RUF001 -- the Russian texts are Cyrillic on purpose.
"""The words of a push, by language: English and Russian (the seed's users are in
Belarus). A locale (``ru-BY``) picks its language; any other falls back to English."""

from __future__ import annotations

from momentic_core.model.engagement import NotificationKind

LANGUAGES = ("en", "ru")
# kind -> language -> (title, body); ``{actor}`` is the actor's nickname (or a stand-in).
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "moment": {
        "en": ("Time to Momentic!", "Two minutes to post what you are doing right now."),
        "ru": ("Время Momentic!", "Две минуты, чтобы показать, что вы делаете сейчас."),
    },
    # The second reminder, when the moment's window closes, to those who have not posted.
    "moment_reminder": {
        "en": ("Still time to Momentic", "The moment has passed, but you can still post "
               "what you are doing."),
        "ru": ("Ещё не поздно для Momentic", "Момент прошёл, но ещё можно показать, что вы "
               "делаете."),
    },
    NotificationKind.FRIEND_REQUEST: {
        "en": ("New friend request", "{actor} wants to be friends."),
        "ru": ("Новая заявка в друзья", "{actor} хочет добавить вас в друзья."),
    },
    NotificationKind.FRIEND_ACCEPTED: {
        "en": ("New friend", "{actor} accepted your friend request."),
        "ru": ("Новый друг", "{actor} принял(а) вашу заявку в друзья."),
    },
    NotificationKind.REACTION: {
        "en": ("New reaction", "{actor} reacted to your video."),
        "ru": ("Новая реакция", "{actor} отреагировал(а) на ваше видео."),
    },
    NotificationKind.COMMENT: {
        "en": ("New comment", "{actor} commented on your video."),
        "ru": ("Новый комментарий", "{actor} прокомментировал(а) ваше видео."),
    },
    NotificationKind.REPLY: {
        "en": ("New reply", "{actor} replied to your comment."),
        "ru": ("Новый ответ", "{actor} ответил(а) на ваш комментарий."),
    },
    NotificationKind.VIDEO_READY: {
        "en": ("Your video is ready", "Your friends can watch it now."),
        "ru": ("Видео готово", "Друзья уже могут его посмотреть."),
    },
    NotificationKind.VIDEO_REJECTED: {
        "en": ("Video not published", "We could not publish your video."),
        "ru": ("Видео не опубликовано", "Не удалось опубликовать ваше видео."),
    },
    NotificationKind.MODERATION: {
        "en": ("Moderation decision", "A moderator decided about your account or content."),
        "ru": ("Решение модератора", "Модератор принял решение о вашем аккаунте или видео."),
    },
}
SOMEONE = {"en": "Someone", "ru": "Кто-то"}


def language(locale: str | None) -> str:
    if locale:
        lang = locale.replace("_", "-").split("-", 1)[0].lower()
        if lang in LANGUAGES:
            return lang
    return "en"


def render(kind: str, locale: str | None, actor: str | None = None) -> tuple[str, str]:
    """(title, body) of a push of ``kind`` (a NotificationKind, "moment" or
    "moment_reminder")."""
    lang = language(locale)
    title, body = TEXTS[kind][lang]
    return title, body.format(actor=actor or SOMEONE[lang])
