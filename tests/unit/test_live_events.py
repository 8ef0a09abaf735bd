"""Live events (model.events): each kind registered once by name, every one survives the
JSON trip between instances (adapters.messages), and every kind a client hears has a frame
view (live.views.FRAMES) that the API document names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.http.live.views import FRAMES
from adapters.http.openapi import document
from adapters.http.schema import component_name
from adapters.messages import event_from_json, event_json
from momentic_core.model.accounts import Person
from momentic_core.model.engagement import Comment, Notification, NotificationKind
from momentic_core.model.events import (
    EVENTS,
    AccessChanged,
    AccountChanged,
    AccountClosed,
    CommentCreated,
    CommentDeleted,
    CommentEdited,
    CommentHidden,
    CommentLiked,
    Event,
    NotificationCreated,
    ReactionsChanged,
    RelationChanged,
    SessionRevoked,
    VideoHidden,
    VideoStatusChanged,
    VisibilityChanged,
)
from momentic_core.model.videos import VideoStatus, Visibility

AT = datetime(2026, 12, 7, 16, 30, 1, 123456, tzinfo=UTC)
ANN = Person(7, "ann", "Ann", None, "avatars/ab/ann.jpg")
COMMENT = Comment(id=5, video_id=12, author_id=7, body="héllo ✨\nthere", created_at=AT,
                  parent_id=4, edited_at=AT, like_count=2, reply_count=0)
SAMPLES: list[Event] = [
    CommentCreated(COMMENT, ANN, 3),
    CommentEdited(COMMENT, ANN),
    CommentDeleted(5, 12, None, 2),
    CommentHidden(5, 12, 4, 1),
    CommentLiked(5, 12, 9),
    ReactionsChanged(12, {"heart": 1, "flame": 0, "funny": 0, "angry": 2}),
    VideoHidden(12),
    VisibilityChanged(12, Visibility.FRIENDS),
    NotificationCreated(Notification(id=9, user_id=8, kind=NotificationKind.COMMENT,
                                     created_at=AT, actor_id=7, video_id=12, comment_id=5,
                                     text="héllo"), ANN),
    NotificationCreated(Notification(id=10, user_id=8, kind=NotificationKind.VIDEO_READY,
                                     created_at=AT, video_id=12), None),
    VideoStatusChanged(7, 12, VideoStatus.REJECTED, "not a video"),
    RelationChanged(7, 8),
    AccessChanged(7),
    SessionRevoked(7, session_id=3),
    SessionRevoked(7, keep=4),
    AccountClosed(7, "suspended", AT),
    AccountChanged(7),
]


def test_every_kind_is_sampled_and_registered_once_by_its_name() -> None:
    assert {type(e) for e in SAMPLES} == set(EVENTS.values())
    assert all(EVENTS[cls.name] is cls for cls in EVENTS.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.name)
def test_an_event_comes_back_equal_through_json(event: Event) -> None:
    wire = json.dumps(event_json(event))
    back = event_from_json(json.loads(wire))
    assert back == event and back.channel == event.channel
    assert "password" not in wire and "email" not in wire


@pytest.mark.parametrize("raw", [
    {}, {"type": "nope", "data": {}}, {"type": "comment.liked", "data": {"id": 1}},
    {"type": "comment.liked"}, [], "x",
])
def test_anything_else_is_no_event(raw: object) -> None:
    with pytest.raises(ValueError, match="not a live event"):
        event_from_json(raw)


def test_clients_hear_every_kind_but_control_ones_each_by_a_documented_view() -> None:
    heard = {cls for cls in EVENTS.values() if not cls.control}
    assert set(FRAMES) == heard
    documented = document()["paths"]["/v1/ws"]["get"]["x-live-events"]
    schemas = document()["components"]["schemas"]
    assert set(documented) == {cls.name for cls in heard}
    for cls, (view, _render) in FRAMES.items():
        assert documented[cls.name] == {"$ref": f"#/components/schemas/{component_name(view)}"}
        assert component_name(view) in schemas


class _Urls:
    def __call__(self, key: str, /) -> str:
        return f"https://cdn.example/{key}"

    def of_video(self, key: str, video: object) -> str:
        return self(key)

    def hls(self, video: object) -> str | None:
        return None


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.name)
def test_a_frame_is_its_view_with_urls_never_keys(event: Event) -> None:
    from adapters.http.converter import unstructure
    from adapters.http.live.routes import render_v1

    frame = render_v1(event, _Urls())
    if event.control:
        assert frame is None
        return
    assert frame is not None
    got = json.loads(frame)
    view, render = FRAMES[type(event)]
    data = render(event, _Urls())
    assert isinstance(data, view)
    assert got == {"type": "event", "channel": event.channel, "event": event.name,
                   "data": unstructure(data)}
    assert "avatar_key" not in frame and ("avatars/ab/ann.jpg" not in frame
                                          or "https://cdn.example/avatars" in frame)
