"""Splitting a long text into a thread (publishing/threads.py), and the composer's endpoint for it."""

import json

import pytest
from django.urls import reverse

from connections.models import SocialAccount
from connections.providers.base import Connection, Profile, TextRules
from connections.registry import get_provider
from connections.services import account_save
from publishing.models import Post
from publishing.textcount import x_weighted_length
from publishing.threads import SplitError, split_thread

X = TextRules(max_length=280, counting="x-weighted", url_length=23)
URL = "https://example.com/articles/" + "a" * 120 + "?utm=thread"  # 160 characters, weighs 23


def sentence(n: int) -> str:
    return f"Sentence number {n} says something useful about the launch."  # 57 characters (58 from 10 on)


def test_a_text_that_fits_is_one_part_even_when_numbered():
    assert split_thread("  Short and sweet.  ", X, numbered=True) == ["Short and sweet."]


def test_parts_keep_every_word_in_order_and_each_fits():
    text = " ".join(sentence(n) for n in range(1, 13))  # 9 x 57 + 3 x 58 + 11 spaces = 698
    parts = split_thread(text, X)
    assert len(parts) == 3
    assert all(x_weighted_length(part) <= 280 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_parts_end_at_a_sentence_when_one_is_near():
    text = " ".join(sentence(n) for n in range(1, 13))
    parts = split_thread(text, X)
    # Four sentences are 231 characters; a fifth word-by-word would fit too, but the part
    # closes where the fourth sentence ends.
    assert parts[0] == " ".join(sentence(n) for n in range(1, 5))
    assert all(part.endswith("launch.") for part in parts)


def test_without_sentences_parts_break_between_words():
    text = " ".join(["word"] * 150)  # 749 characters, no sentence end
    parts = split_thread(text, X)
    assert [len(part) for part in parts] == [279, 279, 189]  # 56 words of 4 plus 55 spaces, twice
    assert all(set(part.split()) == {"word"} for part in parts)


def test_urls_are_never_broken_and_count_23():
    text = " ".join([sentence(1), URL] * 8)  # 8 x (57 + 23) + 15 spaces = 655 weighted
    parts = split_thread(text, X)
    assert all(x_weighted_length(part) <= 280 for part in parts)
    for part in parts:
        assert part.count(URL) == part.count("https://")  # every URL in a part is whole
    assert sum(part.count(URL) for part in parts) == 8
    # Measured by characters the parts would be far over 280: the URLs count 23 each.
    assert max(len(part) for part in parts) > 280


def test_emoji_and_cjk_weigh_two():
    text = "👍 " * 200  # 200 emoji (2 each) and 199 spaces
    parts = split_thread(text, X)
    # 93 emoji and 92 spaces weigh 278; a 94th emoji and its space would make 281.
    assert [part.count("👍") for part in parts] == [93, 93, 14]
    family = "👨‍👩‍👧‍👦"  # one sequence: 7 code points, weighs 2
    parts = split_thread(family * 150, X)
    assert [part.count(family) for part in parts] == [140, 10]  # cut between sequences, never inside
    parts = split_thread("日本語" * 100, X)  # 300 CJK characters weigh 600
    assert [len(part) for part in parts] == [140, 140, 20]


def test_a_word_longer_than_a_whole_part_is_cut():
    word = "x" * 700
    parts = split_thread(f"Start. {word} end", X)
    assert parts == ["Start.", "x" * 280, "x" * 280, "x" * 140 + " end"]


def test_a_long_word_holding_a_url_is_cut_outside_the_url():
    word = "y" * 270 + URL + "z" * 20  # one "word": 270 + 23 + 20 weighted
    parts = split_thread(word, X)
    assert parts == ["y" * 270, URL + "z" * 20]


def test_numbering_fits_in_the_limit():
    text = " ".join(["word"] * 150)
    parts = split_thread(text, X, numbered=True)
    assert [part.rsplit(" ", 1)[1] for part in parts] == ["1/3", "2/3", "3/3"]
    assert all(x_weighted_length(part) <= 280 for part in parts)
    assert x_weighted_length(parts[0]) > 270  # numbered parts still fill up
    assert [p.rsplit(" ", 1)[0] for p in parts] == [" ".join(["word"] * 55)] * 2 + [" ".join(["word"] * 40)]


def test_numbering_room_grows_with_the_count():
    # Ten parts and more: " 10/12" takes 6 where " 9/9" took 4, so every part keeps room for it.
    text = " ".join(["word"] * 600)
    parts = split_thread(text, X, numbered=True)
    assert len(parts) >= 10
    assert parts[-1].endswith(f" {len(parts)}/{len(parts)}")
    assert all(x_weighted_length(part) <= 280 for part in parts)


def test_too_many_parts_or_nothing_is_refused():
    with pytest.raises(SplitError, match="more than 3 posts"):
        split_thread(" ".join(["word"] * 300), X, max_parts=3)
    with pytest.raises(SplitError, match="Write the text"):
        split_thread("   ", X)


# --- The composer's endpoint ----------------------------------------------------------------


@pytest.fixture
def x_account(team) -> SocialAccount:
    connection = Connection(profile=Profile(external_id="2244994945", username="@XDevelopers"),
                            secrets={"access_token": "a", "granted_scope": "tweet.write media.write"})  # fmt: skip
    return account_save(workspace=team.workspace, platform="x", connection=connection, user=None)


def split(client, **data):
    response = client.post(reverse("compose_split"), data)
    return response.status_code, json.loads(response.content)


def test_the_endpoint_splits_the_text_x_receives(team, x_account):
    text = " ".join(sentence(n) for n in range(1, 13))
    status, body = split(team.client("editor"), split_account=x_account.pk, text=text, split_numbered="1")
    assert status == 200
    assert body["field"] == "text"
    assert [part.rsplit(" ", 1)[1] for part in body["parts"]] == ["1/3", "2/3", "3/3"]
    status, body = split(team.client("editor"), split_account=x_account.pk, text="main", override_x=text)
    assert (status, body["field"], len(body["parts"])) == (200, "override_x", 3)


def test_the_split_parts_pass_the_services_and_an_over_long_reply_does_not(team, x_account):
    text = " ".join(sentence(n) for n in range(1, 13))
    client = team.client("editor")
    _, body = split(client, split_account=x_account.pk, text=text)
    main, *replies = body["parts"]
    too_long = client.post(reverse("compose"), {"accounts": [x_account.pk], "text": main,
                                                "reply": [*replies, "z" * 281], "when": "draft"})  # fmt: skip
    assert too_long.status_code == 400
    assert b"reply 3 is 281/280" in too_long.content  # the third reply, after two split ones
    saved = client.post(reverse("compose"), {"accounts": [x_account.pk], "text": main, "reply": replies,
                                             "when": "draft"})  # fmt: skip
    assert saved.status_code == 302
    assert list(Post.objects.get().contents.values_list("text", flat=True)) == body["parts"]


def test_the_endpoint_refuses_clearly(team, x_account, demo_accounts):
    client = team.client("editor")
    assert split(client, text="x")[0] == 400
    status, body = split(client, split_account=demo_accounts[0].pk, text="x" * 600)
    assert (status, body["error"]) == (400, "Demo network posts are not split into threads.")
    status, body = split(client, split_account=x_account.pk, text=" ".join(["word"] * 2000))
    assert status == 400
    assert "more than 21 posts" in body["error"]
    assert team.client("viewer").post(reverse("compose_split"), {"split_account": x_account.pk}).status_code == 403


def test_another_workspaces_account_is_not_found(team):
    connection = Connection(profile=Profile(external_id="1", username="@else"), secrets={"access_token": "a"})
    other = account_save(workspace=team.other_workspace, platform="x", connection=connection, user=None)
    response = team.client("editor").post(reverse("compose_split"), {"split_account": other.pk, "text": "x" * 300})
    assert response.status_code == 404


def test_the_live_check_offers_the_split_only_when_x_is_over(team, x_account):
    client = team.client("editor")
    over = client.post(reverse("compose_check"), {"accounts": [x_account.pk], "text": "x" * 281, "when": "draft"})
    assert b"Split into a thread" in over.content
    fits = client.post(reverse("compose_check"), {"accounts": [x_account.pk], "text": "x" * 280, "when": "draft"})
    assert b"Split into a thread" not in fits.content
    assert get_provider("demo").offers_thread_split is False
