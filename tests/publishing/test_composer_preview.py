"""The composer's network previews, the main button's words, and the date only when scheduling."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from connections.models import SocialAccount
from publishing.models import Media, Post, PostingSlot
from publishing.templatetags.previews import highlight, link_host

PARIS = ZoneInfo("Europe/Paris")
COMPOSE = reverse("compose")
CHECK = reverse("compose_check")


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("See https://example.com/a?b=1.", 'See <span class="pv-link">https://example.com/a?b=1</span>.'),
        ("#launch day, #2031!", '<span class="pv-tag">#launch</span> day, <span class="pv-tag">#2031</span>!'),
        (
            "hi @ada@social.example and @bob.",
            'hi <span class="pv-mention">@ada@social.example</span> and <span class="pv-mention">@bob</span>.',
        ),
        ("mail me: a@b.example, no#tag", "mail me: a@b.example, no#tag"),  # not glued to a word
        ("<b>bold</b> & #x\nline two", '&lt;b&gt;bold&lt;/b&gt; &amp; <span class="pv-tag">#x</span><br>line two'),
    ],
)
def test_highlight_marks_links_tags_and_mentions_and_escapes_the_rest(text, html):
    assert highlight(text) == html


def test_link_host_names_the_site():
    assert link_host("https://www.example.com/a/b?c") == "example.com"
    assert link_host("example.org") == "example.org"


def test_each_account_is_drawn_in_its_networks_look(team, demo_accounts):
    other = SocialAccount.objects.create(workspace=team.workspace, platform="bluesky", external_id="did:plc:x",
                                         username="sky.example", display_name="Sky")  # fmt: skip
    png = Media.objects.create(workspace=team.workspace, file="media/a.png", sha256="a" * 64, original_name="a.png",
                               mime_type="image/png", size=10)  # fmt: skip
    data = {"accounts": [demo_accounts[0].id, other.id], "text": "Hello #news https://example.com",
            "main_media": [png.id], "reply": ["Second part", "Third @ada"], "first_comment": "Links below",
            "link": "https://www.example.com/article", "when": "now"}  # fmt: skip
    page = team.client("editor").post(CHECK, data).content.decode()
    demo, sky = page.split('data-account="')[1:3]
    assert "look-avatar-round look-accent-neutral" in page.split(f'data-account="{demo_accounts[0].id}"')[0]
    assert "look-avatar-round look-accent-sky" in page.split(f'data-account="{other.id}"')[0].rsplit("<section", 1)[1]
    for preview in (demo, sky):
        assert '<span class="pv-tag">#news</span>' in preview
        assert '<span class="pv-link">https://example.com</span>' in preview
        assert f'src="{reverse("media_preview", args=[png.pk])}"' in preview
        assert '<span class="small muted">example.com</span>' in preview  # the link card
        assert '<span class="pv-mention">@ada</span>' in preview
        assert "Links below" in preview
    assert "Reply in thread 2" in sky  # the provider's own word for the thread's next posts
    assert "Reply 2" in demo
    assert '<span class="pv-avatar" aria-hidden="true">S</span>' in sky


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"when": "now"}, "Publish now"),
        ({"when": "draft"}, "Save draft"),
        ({"when": "schedule", "date": "2031-05-06", "time": "10:30"}, "Schedule for Tue 6 May 2031, 10:30"),
        ({"when": "schedule", "date": "2026-12-03", "time": "10:30:15"}, "Schedule for Thu 10:30:15"),
        ({"when": "schedule"}, "Schedule"),
        ({"when": "queue"}, "Add to queue"),  # no slots: the button does not promise one
    ],
)
@time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), tick=False)
def test_the_main_button_says_what_it_will_do(team, demo_accounts, data, label):
    page = team.client("editor").post(CHECK, {"accounts": [demo_accounts[0].id], "text": "x", **data})
    assert f'<span id="submit-label" hx-swap-oob="true">{label}</span>' in page.content.decode()


@time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), tick=False)  # a Tuesday
def test_add_to_queue_names_the_slot_it_will_take(team, demo_accounts):
    PostingSlot.objects.create(account=demo_accounts[0], weekday=2, time="09:00")  # Wednesdays
    page = team.client("editor").post(CHECK, {"accounts": [demo_accounts[0].id], "text": "x", "when": "queue"})
    assert "Add to queue — Wed 09:00" in page.content.decode()


def test_date_and_time_are_disabled_unless_scheduling(team, demo_accounts):
    page = team.client("editor").get(COMPOSE).content.decode()
    assert '<fieldset class="row when-at" id="when-at" disabled>' in page
    assert '<span id="submit-label">Publish now</span>' in page
    picked = team.client("editor").get(COMPOSE, {"date": "2031-05-06", "time": "10:30"}).content.decode()
    assert '<fieldset class="row when-at" id="when-at">' in picked
    assert '<span id="submit-label">Schedule for Tue 6 May 2031, 10:30</span>' in picked
    post = Post.objects.create(workspace=team.workspace, status="draft")
    post.contents.create(text="draft")
    edit = team.client("editor").get(reverse("post_edit", args=[post.pk])).content.decode()
    assert '<span id="submit-label">Save draft</span>' in edit


def test_replies_come_back_in_order_with_their_controls(team, demo_accounts):
    data = {"accounts": [demo_accounts[0].id], "text": "x", "reply": ["first", "second"], "when": "schedule"}
    page = team.client("editor").post(COMPOSE, data).content.decode()  # no time: shown again
    assert page.index(">first</textarea>") < page.index(">second</textarea>")
    assert 'aria-label="Move thread reply 2 up"' in page
    assert 'aria-label="Remove thread reply 1"' in page
    assert '<label for="reply-2" data-reply-label>Thread reply 2</label>' in page


def test_the_library_picker_lists_only_this_workspaces_files(team):
    mine = Media.objects.create(workspace=team.workspace, file="media/m.png", sha256="m" * 64,
                                original_name="mine.png", mime_type="image/png", size=10)  # fmt: skip
    Media.objects.create(workspace=team.other_workspace, file="media/t.png", sha256="t" * 64,
                         original_name="theirs.png", mime_type="image/png", size=10)  # fmt: skip
    page = team.client("editor").get(reverse("media_library"), {"pick": "1"}).content.decode()
    assert f'data-id="{mine.pk}"' in page
    assert 'aria-label="Attach mine.png"' in page
    assert "theirs.png" not in page
    assert "<html" not in page  # a fragment for the composer's dialog


def test_each_account_says_whether_the_images_shape_fits_and_frames_what_it_keeps(team, demo_accounts):
    gram = SocialAccount.objects.create(workspace=team.workspace, platform="instagram", external_id="178",
                                        username="@gram", display_name="Gram")  # fmt: skip

    def image(name: str, width: int, height: int) -> Media:
        return Media.objects.create(workspace=team.workspace, file=f"media/{name}", sha256=name[0] * 64, size=10,
                                    original_name=name, mime_type="image/jpeg", width=width, height=height)  # fmt: skip

    tall, square = image("tall.jpg", 1080, 1920), image("square.jpg", 1000, 1000)
    data = {"accounts": [demo_accounts[0].id, gram.id], "text": "x", "main_media": [tall.id, square.id], "when": "now"}
    page = team.client("editor").post(CHECK, data).content.decode()
    demo, insta = page.split('data-account="')[1:3]
    assert (
        "Demo images: the feed shows 4:5 to 1.91:1 whole; tall.jpg (9:16) will be cut to 4:5 at the top and bottom."
        in demo
    )
    assert "Demo images: 4:5 to 1.91:1; square.jpg (1:1) fits." in demo
    assert 'data-frame-width="100.0" data-frame-height="70.3"' in demo  # the 4:5 window over the 9:16 photo
    assert demo.count('class="pv-frame"') == 1  # the square one shows whole: no frame
    assert 'data-aspect-fit="refused"' in insta
    assert "crop tall.jpg (9:16) to 4:5" in insta
    assert "Fix before posting" in insta  # the platform refuses that shape; the feed's cut does not block
    assert "Ready to post" in demo
    assert " style=" not in page  # the policy forbids inline styles: the frame is sized by app.js
