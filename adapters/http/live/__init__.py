"""Live updates over WebSocket: the hub, the v1 socket (GET /v1/ws) and the legacy app's
comment chat (GET /ws/chat); views.py renders each event's frame."""
