"""POST /api/v1/posts/thread-split: the composer's splitter for API callers, by the same rules."""

import pytest

from connections.providers.base import Connection, Profile
from connections.services import account_save
from publishing.models import Post
from tests.api.conftest import assert_problem

WORDS = " ".join(["word"] * 150)  # 749 characters, no sentence end


@pytest.fixture
def x_account(team):
    connection = Connection(profile=Profile(external_id="2244994945", username="@XDevelopers"),
                            secrets={"access_token": "a", "granted_scope": "tweet.write media.write"})  # fmt: skip
    return account_save(workspace=team.workspace, platform="x", connection=connection, user=None)


def test_a_long_text_comes_back_as_numbered_parts_that_each_fit(api, keys, x_account):
    response = api.post("/posts/thread-split", keys.write, {"account": x_account.pk, "text": WORDS,
                                                           "numbered": True})  # fmt: skip
    assert response.status_code == 200
    parts = response.json()["parts"]
    assert [part.rsplit(" ", 1)[1] for part in parts] == ["1/3", "2/3", "3/3"]
    assert [part.rsplit(" ", 1)[0].count("word") for part in parts] == [55, 55, 40]


def test_the_parts_create_a_thread(api, keys, x_account):
    parts = api.post("/posts/thread-split", keys.write, {"account": x_account.pk, "text": WORDS}).json()
    main, *replies = parts["parts"]
    containers = [{"text": main}, {"text": ""}, *({"text": reply} for reply in replies)]  # no first comment
    created = api.post("/posts", keys.write, {"accounts": [x_account.pk], "containers": containers})
    assert created.status_code == 201, created.content
    post = Post.objects.get()
    assert list(post.contents.order_by("position").values_list("kind", "text")) == [
        ("main", main),
        *(("reply", reply) for reply in replies),
    ]


def test_refusals_are_problems(api, keys, x_account, demo_accounts):
    problem = assert_problem(api.post("/posts/thread-split", keys.write, {"account": demo_accounts[0].pk,
                                                                          "text": WORDS}), 422)  # fmt: skip
    assert problem["detail"] == "Demo network posts are not split into threads."
    problem = assert_problem(api.post("/posts/thread-split", keys.write,
                                      {"account": x_account.pk, "text": "   "}), 422)  # fmt: skip
    assert problem["errors"][0]["field"] == "text"
    assert_problem(api.post("/posts/thread-split", keys.outsider, {"account": x_account.pk, "text": WORDS}),
                   404)  # fmt: skip
