"""Media adapters: video probing, thumbnails and transcoding with PyAV
(``adapters.media.video``); avatars with Pillow (``adapters.media.images``). Import the
module you need: FFmpeg loads with the first."""
