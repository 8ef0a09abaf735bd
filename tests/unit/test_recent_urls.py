"""RecentUrls: a key's signed URL is reused for a while, then signed again."""

from __future__ import annotations

from adapters.media_urls import RecentUrls


def test_a_url_is_reused_within_the_window_then_made_again() -> None:
    now = [0.0]
    signed: list[str] = []

    def sign(key: str) -> str:
        signed.append(key)
        return f"{key}?n={len(signed)}"

    urls = RecentUrls(sign, reuse=300, clock=lambda: now[0])
    assert urls("a") == "a?n=1"
    now[0] = 299.9
    assert urls("a") == "a?n=1"
    assert urls("b") == "b?n=2"
    now[0] = 300.0
    assert urls("a") == "a?n=3"
    assert signed == ["a", "b", "a"]


def test_at_most_size_keys_are_remembered_oldest_first() -> None:
    signed: list[str] = []
    urls = RecentUrls(lambda k: signed.append(k) or k, reuse=300, size=2, clock=lambda: 0.0)
    urls("a")
    urls("b")
    urls("a")  # used again: now the newest
    urls("c")  # b goes
    urls("a")
    urls("b")
    assert signed == ["a", "b", "c", "b"]
