"""The Demo network's numbers: moving within minutes, never going down, the same at one moment."""

from datetime import UTC, datetime, timedelta

from connections.providers.demo.metrics import account_counts, post_counts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGES_MIN = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 10_000, 50_000]


def test_a_new_post_shows_numbers_within_minutes():
    for post_id in ("a1", "b2", "c3", "d4"):
        at_three = post_counts(post_id, T0, T0 + timedelta(minutes=3))
        at_ten = post_counts(post_id, T0, T0 + timedelta(minutes=10))
        assert at_three["view_count"] > 0
        assert at_ten["view_count"] > at_three["view_count"]
        assert at_ten["like_count"] >= 1


def test_numbers_never_go_down_and_level_off():
    for post_id in ("a1", "b2", "c3"):
        series = [post_counts(post_id, T0, T0 + timedelta(minutes=m)) for m in AGES_MIN]
        for name in series[0]:
            values = [point[name] for point in series]
            assert values == sorted(values), name
        assert series[-1] == post_counts(post_id, T0, T0 + timedelta(days=60))  # levelled off


def test_the_same_moment_gives_the_same_numbers_and_posts_differ():
    at = T0 + timedelta(hours=5)
    assert post_counts("a1", T0, at) == post_counts("a1", T0, at)
    assert post_counts("a1", T0, at) != post_counts("b2", T0, at)


def test_followers_grow_with_the_reach_of_posts():
    before = account_counts("alpha", [], 0)
    after = account_counts("alpha", [500, 800], 2)
    assert after["follower_count"] > before["follower_count"] > 0
    assert after["post_count"] == 2
