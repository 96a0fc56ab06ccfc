"""StoreSizes: the last memory count seen per user, keyed by the user's generation, bounded."""

from __future__ import annotations

from memory_gateway.adapters.memories import StoreSizes


def test_sizes_are_kept_per_user_with_their_generation() -> None:
    sizes = StoreSizes(capacity=2)
    assert sizes.get("alice") == (None, None)
    sizes.put("alice", 3, 120)
    sizes.put("bob", 1, 7)
    assert sizes.get("alice") == (3, 120)
    sizes.put("carol", 9, 40)  # over capacity: bob, the least recently used, goes
    assert sizes.get("bob") == (None, None)
    assert sizes.get("alice") == (3, 120)
    assert sizes.get("carol") == (9, 40)


def test_a_user_without_a_generation_is_not_kept() -> None:
    sizes = StoreSizes()
    sizes.put("dora", None, 0)
    assert sizes.get("dora") == (None, None)
