"""Media adapters: video probing, thumbnails and transcoding with PyAV; avatars with Pillow."""

from adapters.media.images import PillowImageProcessor
from adapters.media.video import PyAvMediaProcessor

__all__ = ["PillowImageProcessor", "PyAvMediaProcessor"]
