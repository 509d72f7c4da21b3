"""Data exports: what the ZIP holds (and that no secret is in it), progress saved while it is
built, the emailed signed link that only its requester can use and that expires, who may ask,
the personal export, and retention."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts import exports
from accounts.models import DataExport
from accounts.retention import retention_run
from api.keys import api_key_create
from publishing import services
from publishing.inputs import Attachment, PartInput, PostInput, When
from publishing.media import media_store
from tests.fixtures import assert_role_gate
from webhooks.services import endpoint_create

TOKEN = "tok-SECRET-4fa9d2"  # an account's access token: must appear nowhere in an export


@pytest.fixture
def lived_in(team, demo_accounts):
    account = demo_accounts[0]
    account.secrets = {**account.secrets, "access_token": TOKEN}
    account.save()
    owner = team.membership("owner")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    media = media_store(actor=owner, upload=SimpleUploadedFile("red.png", buffer.getvalue(), content_type="image/png"))
    part = PartInput("Written by the editor", attachments=(Attachment(media.id, "red square"),))
    data = PostInput(
        parts=[part], account_ids=[a.id for a in demo_accounts], when=When.at(timezone.now() + timedelta(days=1))
    )
    post = services.post_create(actor=team.membership("editor"), data=data)
    _key, api_token = api_key_create(actor=owner, name="ci", scope="read")
    _endpoint, webhook_secret = endpoint_create(actor=owner, url="http://127.0.0.1:8999/hook")
    return {"post": post, "media": media, "secrets": [TOKEN, api_token, webhook_secret]}


def _built(django_capture_on_commit_callbacks, request) -> DataExport:
    with django_capture_on_commit_callbacks(execute=True):
        export = request()
    export.refresh_from_db()
    return export


def _contents(export: DataExport) -> dict[str, bytes]:
    with default_storage.open(export.file.name, "rb") as raw, zipfile.ZipFile(raw) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_workspace_export_holds_what_it_promises_and_no_secret(team, lived_in, django_capture_on_commit_callbacks):
    export = _built(django_capture_on_commit_callbacks,
                    lambda: exports.export_request_workspace(actor=team.membership("owner")))  # fmt: skip
    assert (export.status, export.progress, export.size > 0) == (DataExport.Status.READY, 100, True)
    files = _contents(export)
    expected = {"workspace.json", "members.csv", "accounts.json", "accounts.csv", "queue_slots.json",
                "posts.json", "posts.csv", "media.json", "audit_log.csv"}  # fmt: skip
    assert expected <= set(files)
    media_files = [name for name in files if name.startswith("media/")]
    assert len(media_files) == 1
    with default_storage.open(lived_in["media"].file.name, "rb") as original:
        assert files[media_files[0]] == original.read()
    assert b"Written by the editor" in files["posts.json"]
    assert b'"alt_text": "red square"' in files["posts.json"]
    assert b"editor@example.com" in files["members.csv"]
    assert b"api_key.created" in files["audit_log.csv"]
    everything = b"".join(files.values())
    for secret in lived_in["secrets"]:
        assert secret.encode() not in everything
    assert b"access_token" not in everything


def test_progress_is_saved_while_it_is_built(team, lived_in, monkeypatch, django_capture_on_commit_callbacks):
    seen = []

    def peek(archive, export):
        row = DataExport.objects.get(pk=export.pk)
        seen.append((row.status, row.progress, row.step))

    sections = [("First", peek), ("Second", peek)]
    monkeypatch.setitem(exports.SECTIONS, DataExport.Kind.WORKSPACE, sections)
    _built(django_capture_on_commit_callbacks, lambda: exports.export_request_workspace(actor=team.membership("owner")))
    assert seen == [("running", 0, "First"), ("running", 50, "Second")]


def test_a_failed_build_says_so(team, monkeypatch, django_capture_on_commit_callbacks):
    def broken(archive, export):
        raise OSError("disk full")

    monkeypatch.setitem(exports.SECTIONS, DataExport.Kind.WORKSPACE, [("Broken", broken)])
    export = _built(django_capture_on_commit_callbacks,
                    lambda: exports.export_request_workspace(actor=team.membership("owner")))  # fmt: skip
    assert (export.status, export.error) == (DataExport.Status.FAILED, "disk full")


def test_only_owners_export_a_workspace_and_one_at_a_time(team):
    with pytest.raises(PermissionDenied):
        exports.export_request_workspace(actor=team.membership("admin"))
    exports.export_request_workspace(actor=team.membership("owner"))  # not built: on_commit never runs here
    with pytest.raises(ValidationError):
        exports.export_request_workspace(actor=team.membership("owner"))
    assert_role_gate(team, reverse("workspace_export"), lowest="owner", object_url=False)


def test_the_link_is_emailed_and_works_only_for_its_requester_until_it_expires(
    team, lived_in, django_capture_on_commit_callbacks, time_machine
):
    mail.outbox.clear()
    export = _built(django_capture_on_commit_callbacks,
                    lambda: exports.export_request_workspace(actor=team.membership("owner")))  # fmt: skip
    [email] = mail.outbox
    assert email.to == ["owner@example.com"]
    url = reverse("export_download", args=[exports.export_token(export)])
    assert url in email.body
    response = team.client("owner").get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="postwright-workspace-export-')
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert team.client("admin").get(url).status_code == 404
    assert team.client("owner").get(url[:-3] + "xyz/").status_code == 404
    time_machine.move_to(timezone.now() + timedelta(days=8))
    assert team.client("owner").get(url).status_code == 404


def test_the_page_shows_progress_and_polls_only_while_running(team, django_capture_on_commit_callbacks):
    client = team.client("owner")
    assert client.post(reverse("workspace_export")).status_code == 302
    export = DataExport.objects.get()
    page = client.get(reverse("workspace_export"))
    assert b"<progress" in page.content
    assert reverse("export_progress", args=[export.pk]).encode() in page.content
    exports.export_build(export.pk)
    row = client.get(reverse("export_progress", args=[export.pk]))
    assert b"Download ZIP" in row.content
    assert b"hx-trigger" not in row.content
    assert team.client("admin").get(reverse("export_progress", args=[export.pk])).status_code == 404


def test_a_personal_export_holds_ones_own_data(team, demo_accounts, lived_in, django_capture_on_commit_callbacks):
    others = PostInput(parts=[PartInput("Admin's own")], account_ids=[demo_accounts[0].id])
    services.post_create(actor=team.membership("admin"), data=others)
    export = _built(django_capture_on_commit_callbacks,
                    lambda: exports.export_request_personal(user=team.users["editor"]))  # fmt: skip
    files = _contents(export)
    assert {"profile.json", "memberships.json", "posts.json", "activity.csv"} <= set(files)
    assert b"editor@example.com" in files["profile.json"]
    assert b"Written by the editor" in files["posts.json"]
    assert b"Admin's own" not in files["posts.json"]
    assert team.client("editor").get(reverse("personal_export")).status_code == 200


def test_retention_deletes_finished_exports_and_their_files(team, django_capture_on_commit_callbacks, time_machine):
    export = _built(django_capture_on_commit_callbacks,
                    lambda: exports.export_request_personal(user=team.users["viewer"]))  # fmt: skip
    name = export.file.name
    time_machine.move_to(timezone.now() + timedelta(days=6))
    retention_run()
    assert DataExport.objects.filter(pk=export.pk).exists()
    time_machine.move_to(timezone.now() + timedelta(days=2))
    retention_run()
    assert not DataExport.objects.filter(pk=export.pk).exists()
    assert not default_storage.exists(name)


def test_building_an_export_never_decrypts_a_secret(team, lived_in, monkeypatch):
    export = exports.export_request_workspace(actor=team.membership("owner"))

    def refuse(ciphertext):
        raise AssertionError("an export decrypted a secret")

    monkeypatch.setattr("connections.vault.decrypt", refuse)
    exports.export_build(export.pk)
    export.refresh_from_db()
    assert (export.status, export.error) == (DataExport.Status.READY, "")


def test_a_workspace_export_downloads_only_while_its_requester_is_still_an_owner(
    team, django_capture_on_commit_callbacks
):
    from accounts.models import Membership

    Membership.objects.filter(user=team.users["admin"], workspace=team.workspace).update(role="owner")
    admin = Membership.objects.get(user=team.users["admin"], workspace=team.workspace)
    export = _built(django_capture_on_commit_callbacks, lambda: exports.export_request_workspace(actor=admin))
    url = reverse("export_download", args=[exports.export_token(export)])
    assert team.client("admin").get(url).status_code == 200
    Membership.objects.filter(pk=admin.pk).update(role="admin")  # demoted: the workspace's data is no longer theirs
    assert team.client("admin").get(url).status_code == 404
    Membership.objects.filter(pk=admin.pk).delete()  # removed
    assert team.client("admin").get(url).status_code == 404


def test_an_export_whose_worker_was_killed_fails_after_a_while_and_a_new_one_can_start(team, time_machine):
    stuck = exports.export_request_workspace(actor=team.membership("owner"))  # the task never runs here
    DataExport.objects.filter(pk=stuck.pk).update(status=DataExport.Status.RUNNING, progress=40)
    with pytest.raises(ValidationError):
        exports.export_request_workspace(actor=team.membership("owner"))  # still believed running
    time_machine.move_to(timezone.now() + exports.STALE_AFTER + timedelta(minutes=1))
    page = team.client("owner").get(reverse("workspace_export")).content.decode()
    assert "stopped before it was finished" in page
    stuck.refresh_from_db()
    assert stuck.status == DataExport.Status.FAILED
    fresh = exports.export_request_workspace(actor=team.membership("owner"))
    assert fresh.status == DataExport.Status.PENDING
