"""The contract every platform implements.

A provider is a stateless object: the caller hands it the app credentials (client id/secret)
and the account's decrypted secrets, and stores whatever comes back. Every failure is raised as
a ProviderError with its class (AUTH / RATE / TRANSIENT / CONTENT / CONFIG) and the platform's
own message; deciding to retry, refresh or give up happens in one place outside providers.

Connecting comes in three shapes (``ConnectMethod``): OAuth 2.0 redirect (most platforms),
a credential form (Bluesky app passwords), or instant (the demo network).
Publishing is designed for the real platforms' needs: media uploaded first or pulled by URL,
asynchronous processing to poll, a first comment and thread replies that reference the post.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import IO, Any, ClassVar, Protocol

from django import forms

from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaFacts, MediaRules


class ConnectMethod(StrEnum):
    OAUTH2 = "oauth2"
    FORM = "form"
    INSTANT = "instant"


@dataclass(frozen=True)
class AppCredentials:
    """The OAuth client Postwright uses for a platform: the workspace's own or the instance's."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()
    source: str = "instance"  # "workspace" (bring your own keys) or "instance" (environment)


@dataclass
class TokenSet:
    access_token: str = field(repr=False)  # never in logs or tracebacks
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_secrets(self) -> dict[str, Any]:
        secrets = {"access_token": self.access_token, **self.extra}
        if self.refresh_token:
            secrets["refresh_token"] = self.refresh_token
        return secrets


@dataclass(frozen=True)
class Profile:
    external_id: str  # the platform's stable id (a DID, a numeric id as a string, ...)
    username: str
    display_name: str = ""
    avatar_url: str = ""
    profile_url: str = ""


@dataclass
class Connection:
    """What a finished connect step yields for one account: who it is and what to store.

    Every connection one consent yields becomes an account of the same grant. ``secrets`` are
    the consent's (the same for each connection of one consent: the user token and its refresh
    token); ``account_secrets`` are this account's alone (a Facebook Page token) and, when the
    account reads a key of the same name, win over the consent's. ``platform`` is set when a
    consent yields accounts of another platform than the provider that ran it (Instagram
    accounts found through a Facebook login); empty means the provider's own. ``unavailable``
    says why the account is shown on the selection page but cannot be chosen (a Page on which
    the user may not publish); empty means it can be.
    """

    profile: Profile
    secrets: dict[str, Any] = field(repr=False)
    expires_at: datetime | None = None
    instance_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # non-secret facts (instance limits, page tasks)
    account_secrets: dict[str, Any] = field(default_factory=dict, repr=False)
    platform: str = ""
    scope: str = ""
    unavailable: str = ""


@dataclass
class AccountState:
    """The stored account as a provider sees it: its grant's secrets overlaid by its own.

    Providers that renew a session mid-call (Bluesky) call ``update_secrets``; the caller then
    persists each changed key where it lives: a key the account holds itself stays on the
    account, every other key goes to the grant, so its siblings see it at once."""

    external_id: str
    username: str
    secrets: dict[str, Any] = field(repr=False)
    instance_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    secrets_changed: bool = False
    token_expires_at: datetime | None = None  # set when a provider renews its session mid-call
    # Keys of ``secrets`` the account holds itself; None when it has no grant and holds them all.
    account_keys: frozenset[str] | None = None
    changed_keys: set[str] = field(default_factory=set, repr=False)
    # The workspace the account belongs to, for budgets shared out per workspace (a share of a
    # Google project's YouTube quota); None outside a workspace (a test's bare state).
    workspace_id: int | None = None

    def update_secrets(self, *, expires_at: datetime | None = None, **values: Any) -> None:
        self.secrets.update(values)
        self.changed_keys.update(values)
        self.secrets_changed = True
        if expires_at is not None:
            self.token_expires_at = expires_at

    def changed_secrets(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The updated values split by where they are stored: (the grant's, the account's)."""
        changed = {key: self.secrets[key] for key in self.changed_keys if key in self.secrets}
        if self.account_keys is None:
            return {}, changed
        own = {key: value for key, value in changed.items() if key in self.account_keys}
        return {key: value for key, value in changed.items() if key not in own}, own


# --- Publishing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaItem:
    """One attachment. Providers that upload read ``open()`` as a stream or ``read_range()`` in
    chunks (never the whole of a video into memory); those that pull fetch ``public_url``.
    An image arrives already cleaned of metadata and, where the platform has a byte or pixel
    limit, as the copy made to fit it."""

    filename: str
    mime_type: str
    size: int
    open: Callable[[], IO[bytes]]
    public_url: str = ""  # a signed, expiring URL served by Postwright, for pull-by-URL platforms
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    kind: str = "image"  # "image" or "video"
    # (offset, length) -> at most ``length`` bytes from ``offset``, read from storage without
    # fetching the rest (an HTTP Range request on S3). None: seek within ``open()``.
    ranged: Callable[[int, int], bytes] | None = field(default=None, repr=False)

    def read_range(self, offset: int, length: int) -> bytes:
        if self.ranged is not None:
            return self.ranged(offset, length)
        with self.open() as stream:
            stream.seek(offset)
            return stream.read(length)

    def chunks(self, chunk_size: int = 8 * 1024 * 1024) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) pieces in order: what chunked platform uploads send one request each."""
        for offset in range(0, self.size, chunk_size):
            yield offset, self.read_range(offset, min(chunk_size, self.size - offset))


@dataclass(frozen=True)
class ContentPart:
    text: str
    media: tuple[MediaItem, ...] = ()


@dataclass(frozen=True)
class PublishRequest:
    """A post as one account will receive it (per-platform overrides already applied)."""

    main: ContentPart
    replies: tuple[ContentPart, ...] = ()  # a thread, each replying to the previous part
    first_comment: ContentPart | None = None
    link: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)  # platform options (privacy, board, ...)
    idempotency_key: str = ""  # stable per target: sent where the platform honours one

    def parts(self) -> list[tuple[PartKind, ContentPart]]:
        """Every part in the order it is published: main, replies, then the first comment."""
        ordered = [(PartKind.MAIN, self.main), *((PartKind.REPLY, reply) for reply in self.replies)]
        if self.first_comment is not None:
            ordered.append((PartKind.FIRST_COMMENT, self.first_comment))
        return ordered


@dataclass(frozen=True)
class PublishedItem:
    platform_post_id: str
    url: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. Bluesky's cid, needed to reply


class PartKind(StrEnum):
    MAIN = "main"
    REPLY = "reply"
    FIRST_COMMENT = "first_comment"


class UploadStore(Protocol):
    """Where a provider keeps an upload session (platform media id, session URL, byte offset,
    expiry) as it goes, so a crash or a deploy resumes the upload instead of starting again.
    ``save`` commits at once; values are encrypted at rest (a session URL can be a credential)."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, state: Mapping[str, Any]) -> None: ...


class MemoryUploads:
    """An UploadStore that forgets: for calls made outside the engine (tests, previews)."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        return self.sessions.get(key)

    def save(self, key: str, state: Mapping[str, Any]) -> None:
        self.sessions[key] = dict(state)


def part_key(target_key: str, index: int) -> str:
    """Each part's own idempotency key, derived from the target's; the main post keeps it."""
    return target_key if index == 0 or not target_key else f"{target_key}:{index}"


@dataclass(frozen=True)
class PartRequest:
    """One part of a post to publish now: what it says and what it hangs off.

    The engine records each part the moment it lands and hands later parts the facts they need
    (``root`` and ``parent``, with the platform's ids and extras such as Bluesky's cid). ``state``
    is what this part's last ``Pending`` answer asked to keep; it is empty on the first try."""

    index: int  # 0 is the main post, then the replies in order, then the first comment
    kind: PartKind
    content: ContentPart
    key: str  # this part's own idempotency key, derived from the target's
    root: PublishedItem | None = None  # the main post, once landed (None for the main post itself)
    parent: PublishedItem | None = None  # what this part replies to
    state: Mapping[str, Any] = field(default_factory=dict)
    uploads: UploadStore = field(default_factory=MemoryUploads, repr=False)
    # When the engine's current run of the target began: for find_part, nothing the platform
    # created before it (give or take clock skew) can be this part.
    sent_after: datetime | None = None


@dataclass(frozen=True)
class Pending:
    """ "Not done yet, the platform is working": a container or media still processing, an upload
    session in progress. The engine stores ``state``, frees the worker, and calls ``publish_part``
    again with it after ``check_in_s``; nothing is re-created by being asked again."""

    reason: str  # shown to the user: "Mastodon is processing the video"
    state: Mapping[str, Any] = field(default_factory=dict)
    check_in_s: float = 5.0


@dataclass(frozen=True)
class TextRules:
    """What the composer checks before submit."""

    max_length: int
    counting: str = "characters"  # "characters", "graphemes" or "x-weighted"
    url_length: int | None = None  # a URL counts as this many characters when set
    max_media: int = 4
    max_image_bytes: int | None = None
    accepted_mime_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp")
    # For platforms whose post has a title, taken from the main text's first line: its limit and
    # whether a post without one is refused. None: no title.
    title_max_length: int | None = None
    title_required: bool = False


# Our names for a post's numbers and an account's (analytics stores them in columns so named).
POST_METRICS = ("likes", "reposts", "replies", "quotes", "saves", "views", "reach", "clicks")
ACCOUNT_METRICS = ("followers", "following", "posts_count", "views")
EXTRA = "extra"  # in a mapping table: keep the platform's number among the extras, under its own name


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # absent or not a number: the platform has no such count, which is not 0
    return max(0, int(value))


def mapped_counts(counts: Mapping[str, Any], table: Mapping[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """A platform's numbers renamed by a provider's mapping table (platform name -> ours, or
    EXTRA): (ours, extras). What the table does not name is dropped; what is not a number is None."""
    ours: dict[str, int] = {}
    extra: dict[str, int] = {}
    for name, to in table.items():
        value = _count(counts.get(name))
        if value is not None:
            (extra if to == EXTRA else ours)[name if to == EXTRA else to] = value
    return ours, extra


@dataclass(frozen=True)
class PostMetrics:
    """A post's numbers as the platform counts them. A provider leaves a post out of the answer
    when the platform has no numbers for it (not counted yet, or gone): analytics then tries
    again later instead of storing zeros."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    impressions: int | None = None  # None where the platform has no such number (stored as views)
    extra: Mapping[str, int] = field(default_factory=dict)
    saves: int | None = None
    reach: int | None = None
    clicks: int | None = None

    @classmethod
    def from_platform(cls, counts: Mapping[str, Any], table: Mapping[str, str]) -> PostMetrics:
        """Built from the platform's own field names through the provider's mapping table."""
        ours, extra = mapped_counts(counts, table)
        views = ours.pop("views", None)
        return cls(**ours, impressions=views, extra=extra)


@dataclass(frozen=True)
class AccountMetrics:
    """An account's totals at one moment; None where the platform has no such number."""

    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    views: int | None = None
    extra: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_platform(cls, counts: Mapping[str, Any], table: Mapping[str, str]) -> AccountMetrics:
        ours, extra = mapped_counts(counts, table)
        return cls(**ours, extra=extra)


# --- Importing an account's existing posts -------------------------------------------------


@dataclass(frozen=True)
class ImportedMedia:
    url: str
    alt_text: str = ""
    kind: str = "image"  # "image" or "video"


@dataclass(frozen=True)
class ImportedItem:
    """One post the account published itself, as the platform lists it (never a repost).

    ``reply_to`` and ``thread_root`` are the platform ids of the posts it answers when it is a
    later part of the author's own thread (empty otherwise)."""

    platform_post_id: str
    url: str
    text: str
    published_at: datetime
    media: tuple[ImportedMedia, ...] = ()
    reply_to: str = ""
    thread_root: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. Bluesky's cid


@dataclass(frozen=True)
class PostPage:
    """One page of an account's own posts, newest first; ``next_cursor`` empty on the last page."""

    items: tuple[ImportedItem, ...]
    next_cursor: str = ""


@dataclass(frozen=True)
class ComposerNote:
    """A sentence the composer shows in a platform's section for one account before the author
    writes: who will post, what the platform requires said. ``image_url`` is an avatar beside it."""

    text: str
    image_url: str = ""


@dataclass(frozen=True)
class PreviewLook:
    """How the composer's preview draws a post on a network, in generic tokens the stylesheet
    knows (``look-avatar-<avatar>``, ``look-accent-<accent>``): no platform's name in the CSS."""

    avatar: str = "round"  # "round" or "square"
    accent: str = "blue"  # links, hashtags and mentions: "blue", "sky", "purple" or "neutral"
    link_card: bool = True  # a card for the post's link under the text
    reply_label: str = "Reply"  # what the thread's later posts are called there
    comment_label: str = "First comment"


class Provider:
    """Base for platforms. Subclasses set the class attributes and override what they support.

    Everything platform-specific lives in the subclass and its package, so generic code (views,
    templates, settings) never names a platform: it reads these attributes instead.

    Capabilities are declared, never discovered by catching NotImplementedError: generic code
    asks the ``supports_*`` flag (or ``connect_method`` / ``asks_for_instance``) before calling
    the operation it guards, and a provider that lacks one leaves the flag False:

    - ``connect_method`` OAUTH2 (or ``supports_consent``, a form platform that also offers a
      consent redirect, for the API's auth-url): ``authorization_url``, ``exchange_code``, ``fetch_profile``;
      FORM or INSTANT: ``connect_with_form`` (with ``connect_form_class`` when the user types
      anything); ``asks_for_instance``: ``register_app``
    - ``supports_check``: ``check`` (the Accounts page's "Check" button)
    - ``supports_refresh``: ``refresh``; ``supports_revoke``: ``revoke``
    - ``supports_lookup``: ``find_part`` (reconciling an unknown outcome)
    - ``supports_delete``: ``delete``; ``supports_metrics``: ``fetch_metrics``
    - ``supports_account_metrics``: ``fetch_account_metrics`` (followers, posts, views)
    - ``supports_import``: ``list_posts`` (importing the account's existing posts)

    ``text_rules`` and ``publish_part`` are not optional: a platform Postwright cannot publish
    to does not belong in the registry.
    """

    id: ClassVar[str]
    name: ClassVar[str]
    connect_method: ClassVar[ConnectMethod] = ConnectMethod.OAUTH2
    # Whether the platform needs an OAuth client (id/secret) configured before connecting.
    needs_app_credentials: ClassVar[bool] = True
    # Whether the user names a server (Mastodon instance, self-hosted PDS) before connecting.
    asks_for_instance: ClassVar[bool] = False
    supports_pkce: ClassVar[bool] = True
    # A FORM or INSTANT platform that also has a consent redirect (the API's connect/auth-url).
    supports_consent: ClassVar[bool] = False
    supports_check: ClassVar[bool] = False  # check() proves the stored credentials still work
    supports_revoke: ClassVar[bool] = False
    supports_refresh: ClassVar[bool] = False
    supports_idempotency_key: ClassVar[bool] = False
    supports_lookup: ClassVar[bool] = False  # find_part can tell whether a part landed
    supports_delete: ClassVar[bool] = False
    supports_metrics: ClassVar[bool] = False
    supports_account_metrics: ClassVar[bool] = False
    supports_import: ClassVar[bool] = False  # list_posts pages through the account's own posts
    # The provider's mapping table from the platform's metric names to ours (POST_METRICS, or
    # EXTRA to keep one among the extras); analytics also reads it to place PostMetrics.extra keys.
    metric_names: ClassVar[Mapping[str, str]] = {}
    account_metric_names: ClassVar[Mapping[str, str]] = {}
    # At most this many ids per fetch_metrics call from analytics (the platform's batch size).
    metrics_batch_size: ClassVar[int] = 50
    # A per-account limit on the metrics endpoint alone (platforms often limit reads apart from
    # posting): analytics paces its fetch_metrics calls by it, on top of the shared budgets.
    metrics_calls_per_minute: ClassVar[float | None] = None
    # Refresh this long before expiry (seconds); the token-health job uses it.
    refresh_margin_s: ClassVar[int] = 15 * 60
    default_scopes: ClassVar[tuple[str, ...]] = ()
    # Publishing pace for one OAuth app across all workspaces (None: no pacing), and the share of
    # it one workspace may use, so a busy workspace cannot spend a limit the others depend on.
    app_calls_per_minute: ClassVar[int | None] = None
    workspace_share: ClassVar[float] = 0.5
    # ``account_media_problems`` reads the account's live limits: the services decrypt its
    # secrets for it when a post is scheduled (never for the composer's per-keystroke check).
    checks_account_media: ClassVar[bool] = False
    # Pace for one connected account (a platform's per-profile edit limit), whatever the app's,
    # shared by publishing and analytics; None: no per-account pacing.
    account_calls_per_minute: ClassVar[float | None] = None
    # Per-post choices the composer offers for this platform: (option name, label, choices).
    # Values reach PublishRequest.options; the provider validates them again.
    composer_options: ClassVar[tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]] = ()
    preview_look: ClassVar[PreviewLook] = PreviewLook()
    # Options the author must choose before a post is scheduled (a platform's rule forbids a
    # default); their first choice is ("", "Choose...") so the composer preselects nothing.
    required_options: ClassVar[tuple[str, ...]] = ()
    # Options among composer_options whose choices come from the account (a board to pin to),
    # listed by ``composer_choices``; their declared choices are only the empty first one.
    account_options: ClassVar[tuple[str, ...]] = ()
    # Whether the composer offers to split a main text over the limit into a thread of replies
    # (publishing.threads), each part measured by ``text_rules``.
    offers_thread_split: ClassVar[bool] = False
    # Options among composer_options whose value is a moment the author gives (ISO 8601 with its
    # zone; the composer shows a date and time in the author's zone), empty for none; their
    # declared choices are only the empty one.
    moment_options: ClassVar[tuple[str, ...]] = ()
    # Options among composer_options the author types rather than picks (a button's link, an
    # event's title or start): (option name, input kind: "text", "url" or "datetime-local").
    # Their declared choices are empty; ``options_problems`` checks what was typed.
    typed_options: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Options that mean something only for some choices of another (an event's start, for
    # events): (option, the option it depends on, the values of that one showing it). The
    # composer shows them only then; the provider ignores them otherwise.
    option_shown_for: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = ()
    # Options among account_options whose every choice belongs to one choice of another (a
    # board's sections): (option, the option it follows). Such a choice's value is that option's
    # value, a colon, then its own; the composer offers only the chosen one's, and the provider's
    # ``options_problems`` refuses a pair that does not belong together.
    option_choices_follow: ClassVar[tuple[tuple[str, str], ...]] = ()
    # --- What the pages say about the platform (plain text; empty shows nothing) --------------
    setup_steps: ClassVar[str] = ""  # shown on the Accounts page when the platform is not configured
    developer_console_url: ClassVar[str] = ""
    badge: ClassVar[str] = ""  # a short tag beside the name on the Accounts page ("demo")
    connect_intro: ClassVar[str] = ""  # a paragraph above the connect form or the consent button
    # One sentence for empty Accounts and Compose pages suggesting where to start, for platforms
    # that need no setup at all.
    starter_hint: ClassVar[str] = ""
    # For asks_for_instance platforms: a well-known server, shown as the example to type.
    instance_example: ClassVar[str] = ""
    # Accounts of this platform come only from another platform's consent (Instagram accounts
    # found through a Facebook login): its id. The Accounts page then offers no consent of its own.
    connected_through: ClassVar[str] = ""

    @classmethod
    def offers_consent(cls) -> bool:
        """Whether connecting can go through the platform's consent page (an OAuth-style redirect)."""
        return cls.connect_method == ConnectMethod.OAUTH2 or cls.supports_consent

    def is_enabled(self) -> bool:
        """Whether the instance offers this platform; one a setting can switch off overrides it."""
        return True

    def connect_initial(self, *, username: str, instance_url: str) -> dict[str, str]:
        """Reconnecting: the connect form's initial values for the account being renewed (its
        handle and server), named as this provider's ``connect_form_class`` names its fields."""
        return {}

    # --- Connect: OAuth 2.0 -------------------------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        raise NotImplementedError

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        raise NotImplementedError

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        raise NotImplementedError

    def revoke(self, *, app: AppCredentials | None, account: AccountState) -> None:
        raise NotImplementedError

    def refreshes(self, *, secrets: Mapping[str, Any]) -> bool:
        """Whether a consent with these secrets can be refreshed. ``supports_refresh`` by default;
        a platform that hands refresh tokens only to some apps (LinkedIn) asks the consent itself,
        so the others are warned before their token lapses instead of failing a refresh."""
        return self.supports_refresh

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        raise NotImplementedError

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        """The accounts a consent yields. One by default; Facebook-like platforms return each Page
        (the user token in ``secrets``, the Page token in ``account_secrets``), and more than one
        leads to the "choose which to connect" step. They all share the consent's grant."""
        profile = self.fetch_profile(tokens=tokens, instance_url=instance_url)
        return [
            Connection(
                profile=profile,
                secrets=tokens.as_secrets(),
                expires_at=tokens.expires_at,
                instance_url=instance_url,
                scope=tokens.scope,
            )
        ]

    def register_app(self, *, instance_url: str, redirect_uri: str) -> AppCredentials:
        """Federated platforms (asks_for_instance): register our client on that server."""
        raise NotImplementedError

    # --- Connect: credential form or instant ---------------------------------------------------

    def connect_form_class(self) -> type[forms.Form] | None:
        return None

    def connect_with_form(self, *, data: Mapping[str, Any]) -> Connection:
        raise NotImplementedError

    # --- Health -------------------------------------------------------------------------------

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        """A cheap authenticated call proving the credentials still work; returns a fresh profile."""
        raise NotImplementedError

    # --- Publishing, deletion, metrics ---------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        raise NotImplementedError

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        """What the platform accepts as media. By default read from ``text_rules`` (images, and
        video where its mime types list any); platforms with per-format limits override it."""
        text = self.text_rules(account=account)
        images = tuple(t for t in text.accepted_mime_types if t.startswith("image/"))
        videos = tuple(t for t in text.accepted_mime_types if t.startswith("video/"))
        formats = [FormatRule(IMAGE, f"{self.name} images", images, text.max_media, text.max_image_bytes)]
        if videos:
            formats.append(FormatRule(VIDEO, f"{self.name} video", videos))
        return MediaRules(platform=self.name, formats=tuple(formats))

    def composer_choices(self, *, account: AccountState, name: str) -> tuple[tuple[str, str], ...]:
        """The live choices of an ``account_options`` option for this account (value, label),
        the empty choice first. Called by the composer; may call the platform."""
        return ()

    def options_required(self, *, options: Mapping[str, Any]) -> tuple[str, ...]:
        """The ``required_options`` a post with these options must choose; all of them by default.
        A platform whose choices depend on each other (a draft sent to the creator's inbox takes
        no privacy level) narrows them; the provider still checks what it sends."""
        return self.required_options

    def composer_notes(self, *, account: AccountState) -> tuple[ComposerNote, ...]:
        """What the composer shows for this account in the platform's section (the creator a
        post goes to, the platform's required wording). Called by the composer; may call the
        platform; nothing by default."""
        return ()

    def account_notes(self, *, account: AccountState) -> tuple[str, ...]:
        """Plain sentences the Accounts page shows admins under the account (a quota used
        today). Read from Postwright's own records, never from the platform; nothing by default."""
        return ()

    def options_problems(self, *, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What is wrong with a post's per-post options taken together (an event without its
        start), as (option name, message); checked by the services before a post is scheduled
        and again by ``publish_part``. Nothing by default."""
        return []

    def account_media_problems(
        self, *, account: AccountState, media: list[MediaFacts], options: Mapping[str, Any]
    ) -> list[str]:
        """Limits on the main post's media that only the platform knows for this account now (a
        TikTok creator's longest video), checked by the services before a post is scheduled, in
        the platform's words. Only asked where ``checks_account_media``; nothing by default."""
        return []

    def option_problem(self, *, name: str, value: str, options: Mapping[str, Any]) -> str:
        """Why the typed option ``name`` cannot take this value ("" when it can), beside the
        post's other options for the platform: checked by the services before a post is saved,
        and again by the provider when it publishes."""
        return ""

    def format_media_rules(self, *, account: AccountState | None, options: Mapping[str, Any]) -> MediaRules:
        """The media rules for a post with these per-post options (``composer_options``), for
        platforms whose formats differ (an Instagram Story or Reel); by default ``media_rules``."""
        return self.media_rules(account=account)

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        """Publish one part, or answer Pending while the platform works. Raise ProviderError with
        ``outcome_unknown`` when a create call may have landed without an answer."""
        raise NotImplementedError

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """Reconciliation after an unknown outcome: the part if the platform has it, else None.
        Only called where ``supports_lookup`` is declared."""
        raise NotImplementedError

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        raise NotImplementedError

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Numbers for the posts the platform has them for; a post it has none for yet is left out."""
        raise NotImplementedError

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """The account's counts now; None when the platform has none for it."""
        raise NotImplementedError

    def import_refusal(self, *, account: AccountState) -> str:
        """Why this account's past posts cannot be imported though the platform imports others'
        (a LinkedIn member without the reading scope), "" when they can. Read from Postwright's
        own records (``public_state``), never from the platform."""
        return ""

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """One page of the account's own posts (not reposts), newest first, from ``cursor`` (empty:
        the newest). Only called where ``supports_import`` is declared."""
        raise NotImplementedError

    def metrics_hold(self, *, account: AccountState, reserve: float) -> float | None:
        """Seconds analytics should wait before calling for this account because a quota the
        platform counts on its own terms (daily units, usage percentages) is closer to its limit
        than ``reserve`` (the share kept for publishing) allows; None: analytics may call now."""
        return None
