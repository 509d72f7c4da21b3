"""Pinterest against recorded API v5 answers (platforms-other.md section 5; tests/connections/pinterest_api.py)."""

import base64
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    Profile,
    PublishedItem,
    PublishRequest,
)
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract
from tests.connections.pinterest_api import (
    ACCESS,
    AUTH_FAILED,
    BOARD_ID,
    BOARD_NOT_FOUND,
    BOARD_PINS,
    BOARDS,
    MAX_ITEMS,
    ME_URL,
    MEDIA,
    MEDIA_ID,
    NO_FETCH,
    PIN_ID,
    PINS,
    PINS_BOOKMARK,
    SCOPE,
    SCOPE_MISSING,
    SPAM,
    TOKEN_URL,
    TOO_MANY,
    TRIAL,
    UNAVAILABLE,
    UPLOAD_URL,
    USER_ID,
    analytics,
    board,
    error,
    me,
    media_status,
    mock_own_pins,
    pin,
    registered,
    token,
)
from tests.connections.publishing import (
    calls,
    engine_publish,
    multipart_fields,
    no_thread,
    part_request,
    plan_problems,
    publish_all,
    saved_account,
)
from tests.connections.test_bluesky import tiny_png

REDIRECT = "https://postwright.example/connections/callback/pinterest/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the boards listing is kept a while; tests must not inherit it


OPTIONS = {"board": BOARD_ID}


def account(**secrets) -> AccountState:
    stored = {"access_token": ACCESS, "refresh_token": "pinr_first", **secrets}
    return AccountState(external_id=USER_ID, username="janedoe", secrets=stored)


def image(
    name: str = "cake.png", *, url: str = "https://media.postwright.example/s/cake.png", alt: str = ""
) -> MediaItem:
    data = tiny_png()
    return MediaItem(filename=name, mime_type="image/png", size=len(data), open=lambda: io.BytesIO(data),
                     public_url=url, alt_text=alt)  # fmt: skip


def clip() -> MediaItem:
    data = b"\x00\x00\x00\x18ftypmp42 a short video"
    return MediaItem(filename="clip.mp4", mime_type="video/mp4", size=len(data), open=lambda: io.BytesIO(data),
                     kind="video", duration_s=6.0)  # fmt: skip


def pin_request(text: str = "Lemon cake\nThe best lemon cake.", *media: MediaItem, **kwargs) -> PublishRequest:
    return PublishRequest(main=ContentPart(text, media=media or (image(),)), options=kwargs.pop("options", OPTIONS),
                          **kwargs)  # fmt: skip


def created(request_body: dict, pin_id: str = PIN_ID) -> dict:
    return pin(pin_id, **{k: request_body.get(k) for k in ("title", "description", "link", "board_id")})


def mock_create(pin_id: str = PIN_ID) -> None:
    def answer(request):
        return 201, {}, json.dumps(created(json.loads(request.body), pin_id))

    responses.add_callback(responses.POST, PINS, callback=answer)


LANDED = PublishedItem(platform_post_id=PIN_ID, url=f"https://www.pinterest.com/pin/{PIN_ID}/")


class TestPinterestProvider(ProviderContract):
    provider_id = "pinterest"

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json=token())
        responses.add(responses.GET, ME_URL, json=me())
        provider = get_provider("pinterest")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self) -> AccountState:
        return account()

    def mock_check(self) -> None:
        responses.add(responses.GET, ME_URL, json=me())

    def mock_refresh(self) -> None:
        responses.add(responses.POST, TOKEN_URL, json=token(access_token="pina_new", refresh_token="pinr_second",
                                                            response_type="refresh_token"))  # fmt: skip

    def error_cases(self):
        return [
            ("authentication failed", error(responses.GET, ME_URL, AUTH_FAILED, 401), ErrorClass.AUTH),
            ("missing scope", error(responses.GET, ME_URL, SCOPE_MISSING, 403), ErrorClass.AUTH),
            ("trial app", error(responses.GET, ME_URL, TRIAL, 403), ErrorClass.CONFIG),
            ("not found", error(responses.GET, ME_URL, BOARD_NOT_FOUND, 404), ErrorClass.CONTENT),
            ("too many items", error(responses.GET, ME_URL, MAX_ITEMS, 400), ErrorClass.CONTENT),
            ("image not fetched", error(responses.GET, ME_URL, NO_FETCH, 400), ErrorClass.TRANSIENT),
            ("spam block", error(responses.GET, ME_URL, SPAM, 400), ErrorClass.RATE),
            ("throttled", error(responses.GET, ME_URL, TOO_MANY, 429, {"Retry-After": "30"}), ErrorClass.RATE),
            ("unavailable", error(responses.GET, ME_URL, UNAVAILABLE, 503), ErrorClass.TRANSIENT),
            ("no id", lambda: responses.add(responses.GET, ME_URL, json={"username": "x"}), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self) -> str:
        mock_create()
        return PIN_ID

    def test_publish_text(self, provider):
        """The contract's publish, with the image every pin needs and the board it goes to."""
        expected = self.mock_publish_text()
        result = publish_all(provider, account=self.account(), request=pin_request("Hello"))
        assert result.main.platform_post_id == expected
        assert result.main.url == f"https://www.pinterest.com/pin/{PIN_ID}/"

    def mock_delete(self):
        responses.add(responses.DELETE, f"{PINS}/{PIN_ID}", status=204)
        return PIN_ID, lambda: len(calls("DELETE", f"{PINS}/{PIN_ID}")) == 1

    def mock_account_metrics(self):
        responses.add(responses.GET, ME_URL, json=me())
        return AccountMetrics(followers=1200, following=80, posts_count=340,
                              extra={"monthly_views": 45000, "board_count": 12})  # fmt: skip

    def mock_list_posts(self):
        mock_own_pins()  # the pin saved from somebody else's board (…899) is not the account's own
        return ["813744226420795901", "813744226420795890"], ["813744226420795850"]

    def mock_metrics(self):
        summary = {"IMPRESSION": 1368, "SAVE": 6, "PIN_CLICK": 58, "OUTBOUND_CLICK": 1}
        responses.add(responses.GET, f"{PINS}/{PIN_ID}/analytics", json=analytics(**summary))
        extra = {"saves": 6, "pin_clicks": 58, "outbound_clicks": 1, "video_views": 0}
        expected = PostMetrics(reposts=6, impressions=1368, extra=extra)
        return PIN_ID, expected

    # A pin has no replies or comments through the API: the per-part scenarios become refusals,
    # and the lost answer is reconciled for the pin itself, through the engine.

    def test_reply_refused_after_the_main_post_landed_then_retry_creates_no_second_main_post(self, provider):
        no_thread(provider, account=account(), request=pin_request(replies=(ContentPart("Reply 1"),)), landed=LANDED)

    def test_first_comment_answers_the_main_post(self, provider):
        no_thread(provider, account=account(), request=pin_request(first_comment=ContentPart("Hi")), landed=LANDED)

    def test_answer_to_reply_2_lost_is_reconciled_and_reply_3_follows_it(
        self, team, django_capture_on_commit_callbacks
    ):
        from publishing import engine

        created_pins: list[dict] = []

        def create(request):
            body = json.loads(request.body)
            created_pins.append(created(body))
            raise requests.ReadTimeout("read timed out (the answer is lost)")

        responses.add_callback(responses.POST, PINS, callback=create)

        def board_pins(_request):
            return 200, {}, json.dumps({"items": _now(created_pins), "bookmark": None})

        responses.add_callback(responses.GET, BOARD_PINS, callback=board_pins)
        target = _engine_pin(team, django_capture_on_commit_callbacks)
        assert target.status == "unknown"
        with django_capture_on_commit_callbacks(execute=True):
            assert engine.targets_claim_due() == [], "a pin in doubt is never re-sent blindly"
            engine.targets_claim_reconcile()
        target.refresh_from_db()
        assert target.status == "published"
        assert target.parts.get().platform_post_id == PIN_ID
        assert len(created_pins) == 1


def _now(pins: list[dict]) -> list[dict]:
    """The pins as created just now (Pinterest's clock, UTC without a zone)."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return [{**p, "created_at": stamp} for p in pins]


def _engine_pin(team, capture):
    from publishing.media import media_store
    from publishing.services import Attachment, PartInput

    saved = saved_account(team, "pinterest", account())
    picture = media_store(actor=team.membership("editor"), upload=ContentFile(tiny_png(), name="cake.png"))
    part = PartInput(text="Lemon cake\nThe best.", attachments=(Attachment(media_id=picture.id),))
    return engine_publish(team, capture, saved, [part], {"pinterest": {"options": OPTIONS}})


# --- Connecting ---------------------------------------------------------------------------------


@pytest.fixture
def pinterest(db):
    return get_provider("pinterest")


def test_consent_asks_for_the_board_and_pin_scopes_comma_separated(pinterest):
    url = pinterest.authorization_url(app=APP, redirect_uri=REDIRECT, state="s1", code_verifier=None)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.pinterest.com/oauth/"
    assert (query["response_type"], query["state"], query["redirect_uri"]) == ("code", "s1", REDIRECT)
    assert query["scope"] == SCOPE
    assert "code_challenge" not in query


def test_code_exchange_sends_the_app_in_a_basic_header(pinterest):
    responses.add(responses.POST, TOKEN_URL, json=token())
    tokens = pinterest.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
    (call,) = responses.calls
    expected = base64.b64encode(f"{APP.client_id}:{APP.client_secret}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    form = parse_qs(call.request.body)
    assert (form["grant_type"], form["code"]) == (["authorization_code"], ["c0de"])
    assert (tokens.access_token, tokens.refresh_token) == (ACCESS, "pinr_first")
    assert tokens.expires_at is not None


def test_connecting_names_the_account_by_its_username(pinterest):
    (connection,) = TestPinterestProvider().connect()
    assert connection.profile == Profile(external_id=USER_ID, username="janedoe", display_name="Jane's Kitchen",
                                         avatar_url="https://i.pinimg.com/600x600_R/ab/cd.jpg",
                                         profile_url="https://www.pinterest.com/janedoe/")  # fmt: skip


def test_refresh_keeps_a_rotated_refresh_token_and_else_the_old_one(pinterest):
    responses.add(responses.POST, TOKEN_URL, json=token(access_token="pina_2", refresh_token="pinr_2",
                                                        response_type="everlasting_refresh"))  # fmt: skip
    assert pinterest.refresh(app=APP, account=account()).refresh_token == "pinr_2"
    assert parse_qs(responses.calls[0].request.body)["refresh_token"] == ["pinr_first"]
    responses.reset()
    answer = token(access_token="pina_3")
    del answer["refresh_token"]
    responses.add(responses.POST, TOKEN_URL, json=answer)
    assert pinterest.refresh(app=APP, account=account()).refresh_token == "pinr_first"


def test_a_refused_refresh_asks_for_a_reconnect(pinterest):
    responses.add(responses.POST, TOKEN_URL, json={"error": "invalid_grant"}, status=400)
    with pytest.raises(ProviderError) as caught:
        pinterest.refresh(app=APP, account=account())
    assert caught.value.error_class == ErrorClass.AUTH


# --- The composer's boards ----------------------------------------------------------------------


def test_boards_are_the_account_s_every_page_of_them(pinterest):
    responses.add(responses.GET, BOARDS, json={"items": [board()], "bookmark": "b2"},
                  match=[responses.matchers.query_param_matcher({"page_size": "250"})])  # fmt: skip
    responses.add(responses.GET, BOARDS, json={"items": [board("549755885177", "Travel")], "bookmark": None},
                  match=[responses.matchers.query_param_matcher({"page_size": "250", "bookmark": "b2"})])  # fmt: skip
    choices = pinterest.composer_choices(account=account(), name="board")
    assert choices == (("", "Choose..."), (BOARD_ID, "Recipes"), ("549755885177", "Travel"))
    assert pinterest.composer_choices(account=account(), name="board") == choices
    assert len(responses.calls) == 2, "the second composer page reads the kept list"


def test_the_composer_offers_the_account_s_boards_and_a_post_takes_one(team):
    from publishing.models import Post

    saved = saved_account(team, "pinterest", account())
    responses.add(responses.GET, BOARDS, json={"items": [board()], "bookmark": None})
    sections_of(BOARD_ID, [])  # the board has none: the section list offers only "No section"
    page = team.client("editor").get(reverse("compose"))
    assert f'<option value="{BOARD_ID}"' in page.content.decode()
    assert ">Recipes</option>" in page.content.decode()
    data = {"accounts": [saved.id], "text": "Cake", "when": "draft", "option_pinterest_board": BOARD_ID}
    team.client("editor").post(reverse("compose"), data)
    # The section select left on its empty choice is kept as chosen, as every select's is.
    assert Post.objects.get().overrides == {"pinterest": {"options": {"board": BOARD_ID, "board_section": ""}}}


def test_a_board_value_of_the_wrong_shape_is_refused(team):
    from publishing.rules import account_choice_ok

    assert account_choice_ok(BOARD_ID)
    assert not account_choice_ok("")
    assert not account_choice_ok("../pins?x=1")
    assert not account_choice_ok({"id": BOARD_ID})


# --- Pins ---------------------------------------------------------------------------------------


def test_an_image_pin_carries_board_title_description_link_and_alt_text(pinterest):
    mock_create()
    request = pin_request("Lemon cake\nThe best lemon cake.", image(alt="A slice of lemon cake"),
                          link="https://janedoe.example/lemon-cake")  # fmt: skip
    publish_all(pinterest, account=account(), request=request)
    (call,) = calls("POST", PINS)
    assert call.request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert json.loads(call.request.body) == {
        "board_id": BOARD_ID, "title": "Lemon cake", "description": "The best lemon cake.",
        "link": "https://janedoe.example/lemon-cake", "alt_text": "A slice of lemon cake",
        "media_source": {"source_type": "image_url", "url": "https://media.postwright.example/s/cake.png"},
    }  # fmt: skip


def test_one_line_is_all_description(pinterest):
    mock_create()
    publish_all(pinterest, account=account(), request=pin_request("Just a cake"))
    body = json.loads(calls("POST", PINS)[0].request.body)
    assert (body.get("title"), body["description"]) == (None, "Just a cake")


def test_an_image_without_a_public_url_is_sent_inline(pinterest):
    mock_create()
    publish_all(pinterest, account=account(), request=pin_request("Cake", image(url="")))
    source = json.loads(calls("POST", PINS)[0].request.body)["media_source"]
    assert source == {"source_type": "image_base64", "content_type": "image/png",
                      "data": base64.b64encode(tiny_png()).decode()}  # fmt: skip


def test_several_images_are_a_carousel_of_at_most_five(pinterest):
    mock_create()
    urls = [f"https://media.postwright.example/s/{n}.png" for n in range(3)]
    publish_all(pinterest, account=account(), request=pin_request("Cakes", *(image(url=u) for u in urls)))
    source = json.loads(calls("POST", PINS)[0].request.body)["media_source"]
    assert source == {"source_type": "multiple_image_urls", "items": [{"url": u} for u in urls]}
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=pin_request("Cakes", *(image() for _ in range(6))))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "too_many_media")


def test_a_video_pin_is_registered_uploaded_and_waited_for(pinterest):
    responses.add(responses.POST, MEDIA, json=registered(), status=201)
    responses.add(responses.POST, UPLOAD_URL, status=204)
    responses.add(responses.GET, f"{MEDIA}/{MEDIA_ID}", json=media_status("processing"))
    request = pin_request("Cake video\nHow it is made.", clip())
    uploads = MemoryUploads()
    first = pinterest.publish_part(account=account(), request=request,
                                   part=part_request(request, 0, [], uploads=uploads))  # fmt: skip
    assert isinstance(first, Pending)
    assert first.reason == "Pinterest is processing the video"
    fields = multipart_fields(calls("POST", UPLOAD_URL)[0])
    names = [name for name, _value in fields]
    assert names == ["key", "policy", "x-amz-signature", "x-amz-algorithm", "file"], "every field, then the file"
    assert dict(fields)["file"].startswith(b"\x00\x00\x00\x18ftyp")
    assert "Authorization" not in calls("POST", UPLOAD_URL)[0].request.headers, "no Pinterest token at the storage"
    responses.replace(responses.GET, f"{MEDIA}/{MEDIA_ID}", json=media_status("succeeded"))
    mock_create()
    done = pinterest.publish_part(account=account(), request=request,
                                  part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert done.platform_post_id == PIN_ID
    assert len(calls("POST", MEDIA)) == 1, "registered once"
    assert len(calls("POST", UPLOAD_URL)) == 1, "uploaded once"
    source = json.loads(calls("POST", PINS)[0].request.body)["media_source"]
    assert source == {"source_type": "video_id", "media_id": MEDIA_ID, "cover_image_key_frame_time": 0}


def test_a_video_with_an_image_uses_it_as_the_cover(pinterest):
    responses.add(responses.POST, MEDIA, json=registered(), status=201)
    responses.add(responses.POST, UPLOAD_URL, status=204)
    responses.add(responses.GET, f"{MEDIA}/{MEDIA_ID}", json=media_status("succeeded"))
    mock_create()
    publish_all(pinterest, account=account(), request=pin_request("Cake", clip(), image()))
    source = json.loads(calls("POST", PINS)[0].request.body)["media_source"]
    assert source["cover_image_url"] == "https://media.postwright.example/s/cake.png"


def test_a_video_pinterest_cannot_process_fails_with_content(pinterest):
    responses.add(responses.POST, MEDIA, json=registered(), status=201)
    responses.add(responses.POST, UPLOAD_URL, status=204)
    responses.add(responses.GET, f"{MEDIA}/{MEDIA_ID}", json=media_status("failed"))
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=pin_request("Cake", clip()))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "media_failed")
    assert not calls("POST", PINS)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (pin_request(options={}), "no_board"),
        (pin_request("T" * 101 + "\nbody"), "title_too_long"),
        (pin_request("D" * 801), "description_too_long"),
        (pin_request(link="https://janedoe.example/" + "a" * 2048), "link_too_long"),
        (PublishRequest(main=ContentPart("No picture"), options=OPTIONS), "no_media"),
    ],
)
def test_a_pin_pinterest_would_refuse_fails_before_any_call(pinterest, request_, code):
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=request_)
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert not responses.calls


def test_a_missing_board_is_refused_in_pinterest_s_words(pinterest):
    error(responses.POST, PINS, BOARD_NOT_FOUND, 404)()
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=pin_request())
    assert (caught.value.error_class, caught.value.message) == (ErrorClass.CONTENT, "Board not found.")


def test_a_create_whose_answer_is_lost_is_in_doubt(pinterest):
    responses.add(responses.POST, PINS, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=pin_request())
    assert caught.value.outcome_unknown


# --- Reconciliation, deletion, metrics ----------------------------------------------------------


def test_find_part_takes_the_board_s_matching_pin_made_in_this_run_only(pinterest):
    from datetime import UTC, datetime

    request = pin_request("Lemon cake\nThe best.", link="https://janedoe.example/c")
    fields = {"title": "Lemon cake", "description": "The best.", "link": "https://janedoe.example/c"}
    older = pin("111", created_at="2026-01-01T12:00:00", **fields)
    other = pin("222", created_at="2026-03-01T12:00:00", **{**fields, "title": "Other"})
    ours = pin("333", created_at="2026-03-01T12:00:00", **fields)
    responses.add(responses.GET, BOARD_PINS, json={"items": [other, ours, older], "bookmark": None})
    part = part_request(request, 0, [], sent_after=datetime(2026, 3, 1, 11, 58, tzinfo=UTC))
    found = pinterest.find_part(account=account(), request=request, part=part)
    assert found is not None
    assert found.platform_post_id == "333"
    later = part_request(request, 0, [], sent_after=datetime(2026, 3, 2, tzinfo=UTC))
    responses.replace(responses.GET, BOARD_PINS, json={"items": [ours, older], "bookmark": None})
    assert pinterest.find_part(account=account(), request=request, part=later) is None


def test_deleting_a_pin_already_gone_is_done(pinterest):
    error(responses.DELETE, f"{PINS}/{PIN_ID}", {"code": 50, "message": "Pin not found."}, 404)()
    pinterest.delete(account=account(), platform_post_id=PIN_ID)
    assert len(responses.calls) == 1


def test_metrics_ask_for_the_last_ninety_days_and_skip_deleted_pins(pinterest):
    responses.add(responses.GET, f"{PINS}/{PIN_ID}/analytics", json=analytics(IMPRESSION=10, SAVE=1))
    error(responses.GET, f"{PINS}/999/analytics", {"code": 50, "message": "Pin not found."}, 404)()
    metrics = pinterest.fetch_metrics(account=account(), platform_post_ids=[PIN_ID, "999"])
    assert list(metrics) == [PIN_ID]
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    from datetime import date

    start, end = date.fromisoformat(query["start_date"][0]), date.fromisoformat(query["end_date"][0])
    assert (end - start).days == 89
    assert query["metric_types"] == ["IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,VIDEO_MRC_VIEW"]


def test_a_composer_page_pinterest_will_not_answer_for_still_opens_and_keeps_the_saved_board(team):
    from publishing.models import Post

    saved = saved_account(team, "pinterest", account())
    responses.add(responses.GET, BOARDS, json={"items": [board()], "bookmark": None})
    data = {"accounts": [saved.id], "text": "Cake", "when": "draft", "option_pinterest_board": BOARD_ID}
    team.client("editor").post(reverse("compose"), data)
    cache.clear()
    responses.replace(responses.GET, BOARDS, json=AUTH_FAILED, status=401)
    post = Post.objects.get()
    page = team.client("editor").get(reverse("post_edit", args=[post.pk]))
    assert page.status_code == 200
    assert f'<option value="{BOARD_ID}" selected' in page.content.decode()


# --- Board sections ----------------------------------------------------------------------------

SECTION_ID = "5027629787972154693"
TRAVEL = "549755885177"


def sections_of(board_id: str, items: list[dict], bookmark: str | None = None, after: str | None = None) -> None:
    query = {"page_size": "100", **({"bookmark": after} if after else {})}
    responses.add(responses.GET, f"{BOARDS}/{board_id}/sections", json={"items": items, "bookmark": bookmark},
                  match=[responses.matchers.query_param_matcher(query)])  # fmt: skip


def two_boards_with_sections() -> None:
    responses.add(responses.GET, BOARDS, json={"items": [board(), board(TRAVEL, "Travel")], "bookmark": None})
    sections_of(BOARD_ID, [{"id": SECTION_ID, "name": "Desserts"}], bookmark="s2")
    sections_of(BOARD_ID, [{"id": "5027629787972154694", "name": "Bread"}], after="s2")
    sections_of(TRAVEL, [])


def test_sections_are_listed_per_board_as_board_and_section(pinterest):
    two_boards_with_sections()
    choices = pinterest.composer_choices(account=account(), name="board_section")
    assert choices == (("", "No section"), (f"{BOARD_ID}:{SECTION_ID}", "Recipes / Desserts"),
                       (f"{BOARD_ID}:5027629787972154694", "Recipes / Bread"))  # fmt: skip
    assert pinterest.composer_choices(account=account(), name="board_section") == choices
    assert len(responses.calls) == 4, "boards once, each board's sections once, then the kept list"


def test_a_bookmark_handed_back_again_ends_the_list_instead_of_looping(pinterest):
    """The author waits for these lists: a repeated bookmark must not ask for the same page forever."""
    responses.add(responses.GET, BOARDS, json={"items": [board()], "bookmark": "b2"},
                  match=[responses.matchers.query_param_matcher({"page_size": "250"})])  # fmt: skip
    responses.add(responses.GET, BOARDS, json={"items": [], "bookmark": "b2"},
                  match=[responses.matchers.query_param_matcher({"page_size": "250", "bookmark": "b2"})])  # fmt: skip
    sections_of(BOARD_ID, [{"id": SECTION_ID, "name": "Desserts"}], bookmark="s2")
    sections_of(BOARD_ID, [], bookmark="s2", after="s2")
    assert pinterest.composer_choices(account=account(), name="board") == (("", "Choose..."), (BOARD_ID, "Recipes"))
    sections = pinterest.composer_choices(account=account(), name="board_section")
    assert sections == (("", "No section"), (f"{BOARD_ID}:{SECTION_ID}", "Recipes / Desserts"))
    assert len(responses.calls) == 4


def test_sections_are_read_for_a_limited_number_of_boards(pinterest, settings):
    settings.PINTEREST_SECTIONS_MAX_BOARDS = 1
    responses.add(responses.GET, BOARDS, json={"items": [board(), board(TRAVEL, "Travel")], "bookmark": None})
    sections_of(BOARD_ID, [{"id": SECTION_ID, "name": "Desserts"}])
    assert [value for value, _ in pinterest.composer_choices(account=account(), name="board_section")] == [
        "",
        f"{BOARD_ID}:{SECTION_ID}",
    ]  # Travel's sections were never asked for (an unmocked call would fail)


def test_a_pin_in_a_section_sends_its_id_with_the_board(pinterest):
    mock_create()
    options = {"board": BOARD_ID, "board_section": f"{BOARD_ID}:{SECTION_ID}"}
    publish_all(pinterest, account=account(), request=pin_request("Cake\nLemon", image(), options=options))
    body = json.loads(calls("POST", PINS)[0].request.body)
    assert (body["board_id"], body["board_section_id"]) == (BOARD_ID, SECTION_ID)


def test_a_section_of_another_board_is_refused_before_any_call(pinterest):
    options = {"board": BOARD_ID, "board_section": f"{TRAVEL}:{SECTION_ID}"}
    with pytest.raises(ProviderError) as caught:
        publish_all(pinterest, account=account(), request=pin_request("Cake\nLemon", image(), options=options))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "bad_section")
    assert not responses.calls


def _pinterest_plan(team, options: dict) -> list:
    return plan_problems(team, saved_account(team, "pinterest", account()), "Cake", {"pinterest": {"options": options}})


def test_the_services_refuse_a_section_of_another_board_in_plain_words(team):
    (problem,) = _pinterest_plan(team, {"board": BOARD_ID, "board_section": f"{TRAVEL}:{SECTION_ID}"})
    assert problem.field == "overrides.pinterest.options.board_section"
    assert "belongs to another board" in problem.message
    (malformed,) = _pinterest_plan(team, {"board": BOARD_ID, "board_section": SECTION_ID})
    assert "choose the section again" in malformed.message
    assert _pinterest_plan(team, {"board": BOARD_ID, "board_section": f"{BOARD_ID}:{SECTION_ID}"}) == []
    assert _pinterest_plan(team, {"board": BOARD_ID}) == []  # no section is fine


def test_the_composer_offers_the_chosen_boards_sections_and_keeps_the_choice(team):
    from publishing.models import Post

    saved = saved_account(team, "pinterest", account())
    two_boards_with_sections()
    page = team.client("editor").get(reverse("compose")).content.decode()
    assert 'data-choices-follow="option_pinterest_board"' in page  # the script offers the chosen board's only
    assert f'<option value="{BOARD_ID}:{SECTION_ID}" >Recipes / Desserts</option>' in page
    chosen = f"{BOARD_ID}:{SECTION_ID}"
    data = {"accounts": [saved.id], "text": "Cake", "when": "draft", "option_pinterest_board": BOARD_ID,
            "option_pinterest_board_section": chosen}  # fmt: skip
    team.client("editor").post(reverse("compose"), data)
    assert Post.objects.get().overrides == {"pinterest": {"options": {"board": BOARD_ID, "board_section": chosen}}}


# --- Importing and account totals ---------------------------------------------------------------


def test_imported_pins_keep_title_description_picture_and_board(pinterest):
    mock_own_pins()
    cake, kneading = pinterest.list_posts(account=account()).items
    assert cake.text == "Lemon cake\nThe best lemon cake, in four steps."
    assert cake.url == "https://www.pinterest.com/pin/813744226420795901/"
    assert cake.published_at.isoformat() == "2026-11-28T18:30:00+00:00"  # Pinterest's zone-less UTC
    assert [(m.url, m.kind) for m in cake.media] == [("https://i.pinimg.com/1200x/lemon.jpg", "image")]
    assert dict(cake.extra) == {"board_id": BOARD_ID, "link": "https://janedoe.example/lemon-cake"}
    assert kneading.text == "Kneading, slowly"
    assert [(m.url, m.kind) for m in kneading.media] == [("https://i.pinimg.com/videos/thumbnails/knead.jpg", "video")]
    assert kneading.extra["board_section_id"] == "5027629787972154693"
    (carousel,) = pinterest.list_posts(account=account(), cursor=PINS_BOOKMARK).items
    assert [m.url for m in carousel.media] == ["https://i.pinimg.com/1200x/eggs.jpg"]  # the first image stands for it


def test_an_import_page_pinterest_throttles_waits_as_it_asks(pinterest):
    error(responses.GET, PINS, TOO_MANY, 429, {"Retry-After": "45"})()
    with pytest.raises(ProviderError) as caught:
        pinterest.list_posts(account=account(), cursor=PINS_BOOKMARK)
    assert caught.value.error_class == ErrorClass.RATE
    assert caught.value.retry_after == 45


def test_a_pin_list_without_items_is_transient(pinterest):
    responses.add(responses.GET, PINS, json={"bookmark": None})
    with pytest.raises(ProviderError) as caught:
        pinterest.list_posts(account=account())
    assert caught.value.error_class == ErrorClass.TRANSIENT


def test_a_personal_account_has_no_monthly_views(pinterest):
    personal = me(account_type="PINNER", business_name=None)
    del personal["monthly_views"]
    responses.add(responses.GET, ME_URL, json=personal)
    totals = pinterest.fetch_account_metrics(account=account())
    assert (totals.followers, totals.views, dict(totals.extra)) == (1200, None, {"board_count": 12})


def test_account_totals_of_another_pinterest_user_are_refused(pinterest):
    responses.add(responses.GET, ME_URL, json=me(id="1"))
    with pytest.raises(ProviderError) as caught:
        pinterest.fetch_account_metrics(account=account())
    assert caught.value.error_class == ErrorClass.AUTH


def test_an_import_page_that_hands_back_its_own_bookmark_is_the_last(pinterest):
    """Asking again with the same bookmark would return the same page for ever."""
    from tests.connections.pinterest_api import OWN_PINS_PAGE2

    same = {**OWN_PINS_PAGE2, "bookmark": PINS_BOOKMARK}
    asked = responses.matchers.query_param_matcher({"page_size": "100", "bookmark": PINS_BOOKMARK})
    responses.add(responses.GET, PINS, json=same, match=[asked])
    page = pinterest.list_posts(account=account(), cursor=PINS_BOOKMARK)
    assert page.items
    assert page.next_cursor == ""
