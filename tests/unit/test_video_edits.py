"""Editing a video's description: only its author, and not while moderators hold or
have removed it (what they judge stays as it was reported)."""

from __future__ import annotations

import attrs
import pytest

from momentic_core.errors import Conflict
from momentic_core.model.videos import VideoStatus

from .ranking_support import make_world


@pytest.mark.parametrize("status", [VideoStatus.HELD, VideoStatus.REMOVED])
async def test_a_held_or_removed_video_cannot_be_edited(status: VideoStatus) -> None:
    world = make_world()
    author = await world.add_user("author")
    video = await world.ready_post(author)
    async with world.uow() as tx:
        await tx.videos.update(attrs.evolve(await tx.videos.get_for_update(video.id),
                                            status=status))
    with pytest.raises(Conflict) as caught:
        await world.videos.update_description(author, video.id, "nothing to see")
    assert caught.value.code == "video_moderated"
    assert world.store.videos[video.id].description == video.description
    async with world.uow() as tx:
        await tx.videos.update(attrs.evolve(await tx.videos.get_for_update(video.id),
                                            status=VideoStatus.READY))
    edited = await world.videos.update_description(author, video.id, "restored")
    assert edited.description == "restored"
