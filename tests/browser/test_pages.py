"""Every page at a phone's width and a desktop's: no sideways scroll, no serious accessibility fault.

The pages come from the URL confs (test_every_page_is_listed fails when a new page is added
without being listed here). axe-core is injected from the copy tests/peers/install.sh put in
.cache/peers/axe (no CDN); it reports rule violations, and serious or critical ones fail.
"""

import io
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page

from accounts.models import Invitation, Membership
from accounts.roles import Role
from accounts.services import invitation_create, notify, workspace_create
from tests.fixtures import PASSWORD, make_user

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".cache" / "peers" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1280)

# Named URL patterns of our apps that are not pages a person opens: form targets (POST only),
# JSON and file endpoints, and redirects. Everything else must be in PAGES below.
NOT_PAGES = {
    "workspace_switch", "invitation_create", "member_role", "member_remove", "invitation_revoke",
    "invitation_answer", "notifications_read", "healthz",
    "compose_check", "compose_split", "calendar_hour", "post_bulk", "post_preview", "post_targets", "post_cancel",
    "post_reschedule", "post_duplicate", "post_restore",
    "queue_slot_add", "queue_slot_remove", "media_upload", "media_upload_create", "media_upload_chunks",
    "media_upload_finish", "media_status", "media_preview", "media_cover", "media_signed", "target_retry",
    "target_mark_published", "connect_callback", "connect_select", "account_check", "account_disconnect",
    "account_avatar",
    "post_approve", "post_request_changes", "post_comment", "export_progress", "export_download",
    "post_remove_imported", "import_start", "import_progress", "import_cancel",
    "analytics_export_posts", "analytics_export_accounts",
}  # fmt: skip
OUR_APPS = ("accounts.urls", "publishing.urls", "connections.urls", "analytics.urls", "connections.providers.demo.urls")


def _our_url_names() -> set[str]:
    names: set[str] = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and getattr(entry.urlconf_module, "__name__", "") in OUR_APPS:
            names |= {p.name for p in entry.url_patterns if isinstance(p, URLPattern) and p.name}
    return names


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile("sky.png", buffer.getvalue(), content_type="image/png")


def _seed() -> dict:
    """A lived-in workspace: accounts, posts in every state that has its own look, media, members,
    an invitation, and unread notifications (a badge once widened the top bar)."""
    from connections.registry import get_provider
    from connections.services import account_save
    from publishing import approvals, engine, services
    from publishing.inputs import Attachment, PartInput, PostInput, When
    from publishing.media import media_store

    owner = make_user("owner@example.com")
    workspace = workspace_create(
        owner=owner, name="Acme with a rather long workspace name", timezone_name="Europe/Berlin"
    )
    actor = Membership.objects.get(workspace=workspace, user=owner)
    for role in (Role.EDITOR, Role.VIEWER):
        Membership.objects.create(workspace=workspace, user=make_user(f"a-long-address-{role}@example.com"), role=role)
    _, token = invitation_create(actor=actor, email="new.person@example.com", role=Role.EDITOR)
    provider = get_provider("demo")
    accounts = [
        account_save(
            workspace=workspace,
            platform="demo",
            user=owner,
            connection=provider.connect_with_form(data={"identifier": handle, "display_name": f"{handle} display"}),
        )
        for handle in ("ada-demo-account", "grace-demo")
    ]
    media = media_store(actor=actor, upload=_png())
    ids = [a.id for a in accounts]
    text = "A long first line with a link https://example.com/a/very/long/path/that/should/wrap/nicely #hashtag"
    parts = [PartInput(text=text, attachments=(Attachment(media_id=media.id, alt_text="Blue"),)),
             PartInput(text="And a reply", kind="reply")]  # fmt: skip
    published = services.post_create(actor=actor, data=PostInput(parts=parts, account_ids=ids, when=When.now()))
    engine.targets_claim_due()
    soon = timezone.now() + timedelta(days=1)
    scheduled = services.post_create(actor=actor, data=PostInput(parts=parts[:1], account_ids=ids, when=When.at(soon)))
    canceled = services.post_create(actor=actor, data=PostInput(parts=parts[:1], account_ids=ids[:1]))
    services.post_cancel(actor=actor, post=canceled)
    # A post waiting for approval, with a comment thread (the review box and the queue's look).
    workspace.approval_policy = "editors"
    workspace.save(update_fields=["approval_policy"])
    editor = Membership.objects.get(workspace=workspace, role=Role.EDITOR)
    awaiting = services.post_create(actor=editor, data=PostInput(parts=parts[:1], account_ids=ids, when=When.at(soon)))
    approvals.post_comment_add(actor=actor, post=awaiting, body="Could the link be shorter? @a-long-address-editor")
    # A finished export and one being built (the progress bar).
    from accounts.exports import export_build, export_request_workspace
    from accounts.models import DataExport

    export_build(export_request_workspace(actor=actor).pk)
    building = export_request_workspace(actor=actor)  # built at once too (tasks run inline): show it half done
    DataExport.objects.filter(pk=building.pk).update(status="running", progress=40, step="Media files")
    for n in range(3):
        notify(user=owner, workspace=workspace, title=f"Something worth reading number {n}", url="/posts/")
    # The Demo network's pages, by the links it gave back (wherever its model lives).
    live = published.targets.select_related("account").get(account=accounts[0])
    assert live.url, "the Demo post did not go out"
    return {
        "published": published.id, "scheduled": scheduled.id, "canceled": canceled.id, "token": token,
        "awaiting": awaiting.id,
        "demo_profile": urlsplit(live.account.profile_url).path, "demo_post": urlsplit(live.url).path,
    }  # fmt: skip


def _pages(seed: dict) -> dict[str, list[str]]:
    """URL name -> the paths that show it (a name may have several looks)."""
    return {
        "dashboard": ["/"],
        "workspace_list": ["/workspaces/"],
        "workspace_create": ["/workspaces/new/"],
        "workspace_settings": ["/settings/"],
        "members": ["/settings/members/"],
        "audit_log": ["/settings/audit/"],
        "workspace_export": ["/settings/export/"],
        "personal_export": ["/me/export/"],
        "workspace_delete": ["/settings/delete/"],
        "account_delete": ["/me/delete/"],
        "privacy": ["/privacy/"],
        "terms": ["/terms/"],
        "data_deletion": ["/data-deletion/"],
        "approval_queue": ["/posts/approvals/"],
        "preferences": ["/me/"],
        "notifications": ["/notifications/"],
        "invitation_detail": [f"/invitations/{seed['token']}/"],
        "calendar": ["/calendar/", "/calendar/?view=week"],
        "posts": ["/posts/", "/posts/?tab=published", "/posts/?tab=canceled", "/posts/?tab=drafts"],
        "compose": ["/posts/new/"],
        "post_detail": [f"/posts/{seed[k]}/" for k in ("published", "scheduled", "canceled", "awaiting")],
        "post_edit": [f"/posts/{seed['scheduled']}/edit/"],
        "queue_slots": ["/queue/"],
        "media_library": ["/media/"],
        "connections": ["/connections/"],
        "connect": ["/connections/connect/demo/", "/connections/connect/mastodon/"],
        "connection_app": _app_pages(),
        "analytics": ["/analytics/"],
        "demo_profile": [seed["demo_profile"]],
        "demo_post": [seed["demo_post"]],
        # The Demo network's consent page (the API's connect flow); no login needed, none harms.
        "demo_consent": [
            "/demo/consent/?state=s&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fconnections%2Fcallback%2Fdemo%2F"
        ],
    }


def _app_pages() -> list[str]:
    """The bring-your-own-keys page of each platform that has one (none may, today)."""
    from connections.registry import enabled_providers

    return [
        f"/connections/apps/{p.id}/" for p in enabled_providers() if p.needs_app_credentials and not p.asks_for_instance
    ]


SIGNED_OUT = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/privacy/", "/data-deletion/"]
ALLAUTH_SIGNED_IN = ["/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]


def test_every_page_is_listed():
    listed = set(_pages({"token": "t", "published": 1, "scheduled": 1, "canceled": 1, "awaiting": 1,
                         "demo_profile": "/", "demo_post": "/"}))  # fmt: skip
    missing = _our_url_names() - listed - NOT_PAGES
    assert missing == set(), f"pages not checked at 390 px (add them to _pages or NOT_PAGES): {sorted(missing)}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        subprocess.run(["bash", str(REPO / "tests" / "peers" / "install.sh"), "axe"], check=True)
    return AXE.read_text()


def _overflow(page: Page) -> int:
    return page.evaluate("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")


def _wide_elements(page: Page) -> list[str]:
    """The elements poking out to the right, to say what to fix."""
    script = """() => { const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 6)
      .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.')
                 + ' right=' + Math.round(e.getBoundingClientRect().right)); }"""
    return page.evaluate(script)


def _axe(page: Page, source: str) -> list[str]:
    # add_script_tag would be an inline script (blocked by our CSP); evaluating the source from
    # the test harness is not subject to the page's CSP.
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _check(page: Page, url: str, path: str, axe_source: str, problems: list[str]) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
        response = page.goto(url + path)
        if response is None or response.status != 200:
            problems.append(f"{path}: answered {response and response.status}, not 200")
            return
        if (extra := _overflow(page)) > 0:
            problems.append(f"{path} at {width}px scrolls sideways by {extra}px: {_wide_elements(page)}")
        problems += [f"{path} at {width}px: {v}" for v in _axe(page, axe_source)]
        name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
        page.screenshot(path=REPO / "test-artifacts" / f"pages-{name}-{width}.png", full_page=True)


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signed_out_pages_fit_a_phone_and_pass_axe(live_server, page: Page, axe_source):
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    problems: list[str] = []
    for path in SIGNED_OUT:
        _check(page, live_server.url, path, axe_source, problems)
    assert problems == [], "\n".join(problems)


def test_every_signed_in_page_fits_a_phone_and_passes_axe(live_server, page: Page, axe_source):
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    seed = _seed()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{live_server.url}/")
    assert Invitation.objects.filter(email="new.person@example.com").exists()
    problems: list[str] = []
    paths = [path for paths in _pages(seed).values() for path in paths] + ALLAUTH_SIGNED_IN
    for path in paths:
        _check(page, live_server.url, path, axe_source, problems)
    assert problems == [], "\n".join(problems)


def test_the_menu_button_opens_the_navigation_on_a_phone(live_server, page: Page, signed_in):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/posts/")
    nav = page.get_by_role("navigation", name="Main")
    accounts = nav.get_by_role("link", name="Accounts")
    assert not accounts.is_visible()
    page.get_by_role("button", name="Menu").click()
    accounts.click()
    page.wait_for_url(f"{live_server.url}/connections/")
    assert _overflow(page) <= 0
