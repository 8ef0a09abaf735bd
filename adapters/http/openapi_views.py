"""The OpenAPI entry of views (issue 20 item 4): ``POST /v1/videos/{video_id}/view``,
kept apart from ``openapi.py`` as ``openapi_devices`` is. ``openapi.document`` merges
``paths(openapi)`` (which registers the schema and example first)."""

from __future__ import annotations

from typing import Any

from adapters.http import views
from momentic_core.policies import views as rules

Json = dict[str, Any]

_RECORDED = {"video_id": 1001, "counted": True, "watched_seconds": 11.2, "completed": True,
             "view_count": 58}

# Codes beyond each response's own (openapi.CODES_BY_OPERATION takes them).
CODES_BY_OPERATION = {"post_v1_videos_video_id_view": ("invalid_watched_seconds",)}


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    boolean = {"type": "boolean"}
    o.SCHEMAS.update({
        "ViewRecorded": o._obj(list(_RECORDED), {
            "video_id": o._INT,
            "counted": dict(boolean, description=(
                "This report added my view of the day (the first of the UTC day); false "
                "for later reports that day, and always for the author, whose views never "
                "count.")),
            "watched_seconds": {"type": ["number", "null"], "description": (
                "The most I reported watching today (milliseconds); null for the author.")},
            "completed": dict(boolean, description=(
                f"Today's view reached the end (at least {rules.COMPLETE_SHARE:.0%} of the "
                "video).")),
            "view_count": dict(o._INT, description="The video's views after this report."),
        }),
    })
    o.EXAMPLES.update({"ViewRecorded": _RECORDED})
    return {
        "/v1/videos/{video_id}/view": {"post": o._op(
            "Record that I watched a video, with the seconds watched. A view counts once per "
            "viewer, video and UTC day (a later report that day raises its watched time to "
            "the most reported, never lower, and adds no view); the author's never count. "
            "Only who may watch the video now counts (visibility, blocks, bans, the BeReal "
            "lock). For-You skips what I have viewed. Rate limit view:user.", "engagement",
            {"200": o._json("ViewRecorded", "The view of the day, and the count.")},
            auth=True, params=[o._path_id("video_id")],
            body=o._body(views.ViewBody, {"watched_seconds": 0.4}),
            errors={**o._NO_VIDEO, **o._NOT_READY, **o._LOCKED,
                    "422": o._problem("watched_seconds below 0 or past the video's end.",
                                      "invalid_watched_seconds", 422)})},
    }
