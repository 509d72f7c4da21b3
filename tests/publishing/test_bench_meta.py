"""bench/meta.py's fake Graph API: the real Meta providers publish through it, find what they
published when the answer was lost, and every part made twice is counted."""

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bench import fakemeta
from bench import meta as bench
from bench.dispatch import create_targets
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    ContentPart,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PublishedItem,
    PublishRequest,
)
from connections.providers.meta.facebook import FacebookProvider
from connections.providers.meta.graph import Graph
from connections.providers.meta.instagram import InstagramProvider
from connections.providers.meta.threads import ThreadsProvider
from publishing.models import Target

PAGE = AccountState(external_id=bench.PAGE_ID, username="Bench Page", secrets={"access_token": "EAAb"})
IG = AccountState(external_id=bench.IG_ID, username="bench", secrets={"access_token": "EAAb"},
                  extra={"page_id": bench.PAGE_ID})  # fmt: skip
THREADS = AccountState(external_id=bench.THREADS_ID, username="bench", secrets={"access_token": "TH"})


@pytest.fixture
def fake(settings):
    server, ledger = fakemeta.serve(latency_ms=0, processing_s=0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.META_GRAPH_URL = settings.META_THREADS_API_URL = url
    settings.META_APPSECRET_PROOF = False
    settings.ALLOW_PRIVATE_NETWORK_URLS = True
    yield ledger
    server.shutdown()


def _parts(texts: list[str], media: tuple[MediaItem, ...] = ()) -> tuple[PublishRequest, list[PartRequest]]:
    contents = [ContentPart(text=text, media=media if i == 0 else ()) for i, text in enumerate(texts)]
    request = PublishRequest(main=contents[0], replies=tuple(contents[1:]), idempotency_key="k")
    parts = [PartRequest(index=i, kind=PartKind.MAIN if i == 0 else PartKind.REPLY, content=content, key=f"k{i}")
             for i, content in enumerate(contents)]  # fmt: skip
    return request, parts


def _image() -> MediaItem:
    size, url = len(bench.JPEG), "http://127.0.0.1:9/a.jpg"  # never fetched: the fake accepts the URL
    return MediaItem(filename="a.jpg", mime_type="image/jpeg", size=size, kind="image", width=1080, height=1080,
                     public_url=url, open=lambda: io.BytesIO(bench.JPEG))  # fmt: skip


def _publish(provider, account, request, part) -> PublishedItem:
    answer = provider.publish_part(account=account, request=request, part=part)
    while isinstance(answer, Pending):  # the container's own steps: create, then publish
        part = replace(part, state=answer.state)
        answer = provider.publish_part(account=account, request=request, part=part)
    return answer


def test_a_facebook_post_and_its_reply_are_counted_and_a_resend_is_a_duplicate(fake):
    request, (main, reply) = _parts(bench.part_texts(0))
    provider = FacebookProvider()
    posted = _publish(provider, PAGE, request, main)
    reply = replace(reply, parent=posted, root=posted)
    _publish(provider, PAGE, request, reply)
    assert bench.tally(fake, 1) == {"parts_expected": 2, "parts_created": 2, "lost": 0, "duplicates": 0,
                                    "publish_again": 0}  # fmt: skip
    # A lost answer is looked up, not re-sent: the look-up finds the post and the comment.
    assert provider.find_part(account=PAGE, request=request, part=main).platform_post_id == posted.platform_post_id
    assert provider.find_part(account=PAGE, request=request, part=reply) is not None
    _publish(provider, PAGE, request, main)  # what a retry without the look-up would do
    assert fake.duplicates == 1


def test_instagram_publishes_a_container_once_and_a_second_media_publish_counts(fake):
    request, (main,) = _parts(bench.part_texts(1), media=(_image(),))
    provider = InstagramProvider()
    posted = _publish(provider, IG, request, main)
    (container,) = fake.containers
    # A retry after a lost media_publish answer: the container says PUBLISHED, the post is found.
    again = replace(main, state={"quota_checked": True, "container": container})
    assert provider.publish_part(account=IG, request=request, part=again).platform_post_id == posted.platform_post_id
    assert fake.duplicates == 0
    with Graph("EAAb") as api, pytest.raises(ProviderError):  # sent again regardless: refused, and counted
        api.post(f"{bench.IG_ID}/media_publish", creation_id=container, create_call=True)
    assert (fake.publish_again, fake.duplicates) == (1, 1)


def test_a_threads_post_and_reply_and_what_was_never_made_is_lost(fake):
    request, (main, reply) = _parts(bench.part_texts(2))
    provider = ThreadsProvider()
    posted = _publish(provider, THREADS, request, main)
    reply = replace(reply, parent=posted, root=posted)
    assert provider.find_part(account=THREADS, request=request, part=main).platform_post_id == posted.platform_post_id
    tally = bench.tally(fake, 3)  # posts 0 and 1 were never sent; post 2's reply neither
    assert (tally["parts_expected"], tally["parts_created"], tally["lost"]) == (5, 1, 4)
    _publish(provider, THREADS, request, reply)
    assert provider.find_part(account=THREADS, request=request, part=reply) is not None
    assert bench.tally(fake, 3)["lost"] == 3


def test_the_bench_posts_go_to_facebook_instagram_and_threads_in_turn(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    create_targets(0, 0, datetime.now(UTC), 1)  # the bench user and workspace
    bench.create_meta_posts(4, 2, datetime.now(UTC))
    targets = Target.objects.order_by("due_at")
    assert [t.account.platform for t in targets] == ["facebook", "instagram", "threads", "facebook"]
    assert [[c.text for c in t.post.contents.order_by("position")] for t in targets] == [
        bench.part_texts(i) for i in range(4)
    ]
    assert [t.post.contents.get(position=0).attachments.count() for t in targets] == [0, 1, 0, 0]
    assert targets[1].account.extra == {"page_id": bench.PAGE_ID}


@pytest.fixture
def faulty(settings):
    """Every create refused (fault_rate 1) or every answer lost (lose_rate 1), by request."""
    servers = []

    def start(**rates):
        server, ledger = fakemeta.serve(latency_ms=0, processing_s=0, **rates)
        servers.append(server)
        settings.META_GRAPH_URL = f"http://127.0.0.1:{server.server_address[1]}"
        settings.META_APPSECRET_PROOF = False
        settings.ALLOW_PRIVATE_NETWORK_URLS = True
        return ledger

    yield start
    for server in servers:
        server.shutdown()


def test_a_refused_create_makes_nothing_and_a_lost_answer_is_found_by_the_look_up(faulty):
    request, (main, _reply) = _parts(bench.part_texts(0))
    provider = FacebookProvider()
    refusing = faulty(fault_rate=1)
    with pytest.raises(ProviderError) as refused:
        provider.publish_part(account=PAGE, request=request, part=main)
    assert refused.value.error_class == ErrorClass.TRANSIENT
    assert not refused.value.outcome_unknown  # nothing was made: a plain retry
    assert (refusing.refused, sum(refusing.created.values())) == (1, 0)
    losing = faulty(lose_rate=1)
    with pytest.raises(ProviderError) as lost:
        provider.publish_part(account=PAGE, request=request, part=main)
    assert lost.value.outcome_unknown  # it may have landed: the engine looks before sending again
    assert (losing.answers_lost, losing.created[main.content.text]) == (1, 1)
    assert provider.find_part(account=PAGE, request=request, part=main) is not None
