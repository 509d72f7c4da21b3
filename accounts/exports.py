"""Data exports: a workspace's data for its owners, a person's own data for anyone.

``export_request`` writes the row and queues ``export_build``, which writes a ZIP of JSON and CSV
(and the media files) into a temporary file, one section at a time, saving its progress after
each, then streams it to storage and emails a link. The link is signed, lasts as long as the
export is kept (EXPORT_RETENTION_DAYS) and works only for whoever asked for it. Secrets are never
read: accounts are exported from their public columns, never their credentials.
"""

import csv
import io
import json
import logging
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import AuditRecord, DataExport, Membership, User
from accounts.roles import Capability, role_allows

log = logging.getLogger(__name__)
E = DataExport.Status
SALT = "postwright.export"
Section = tuple[str, Callable[[zipfile.ZipFile, DataExport], None]]


# --- Asking for one -------------------------------------------------------------------------


def export_request_workspace(*, actor: Actor | Membership) -> DataExport:
    actor = as_actor(actor)
    actor.require(Capability.MANAGE_OWNERS, "Only owners can export the whole workspace.")
    if actor.user is None:
        raise PermissionDenied("Exports are asked for by a person, who receives the link.")
    return _request(DataExport.Kind.WORKSPACE, actor.user, actor.workspace.pk)


def export_request_personal(*, user: User) -> DataExport:
    return _request(DataExport.Kind.PERSONAL, user, None)


# Longer than any build takes (the worker's own task timeout is far shorter): an export still
# waiting or running after this lost its worker (killed, redeployed), and never finishes.
STALE_AFTER = timedelta(hours=6)
STALE_ERROR = "The export stopped before it was finished (its worker was interrupted). Ask for a new one."


def exports_fail_stale() -> int:
    """Mark exports that lost their worker as failed, so they say so and a new one can start."""
    now = timezone.now()
    stale = DataExport.objects.filter(status__in=[E.PENDING, E.RUNNING], created_at__lt=now - STALE_AFTER)
    return stale.update(status=E.FAILED, error=STALE_ERROR, finished_at=now)


@transaction.atomic
def _request(kind: str, user: User, workspace_id: int | None) -> DataExport:
    exports_fail_stale()
    running = DataExport.objects.filter(kind=kind, requested_by=user, workspace_id=workspace_id,
                                        status__in=[E.PENDING, E.RUNNING])  # fmt: skip
    if running.exists():
        raise ValidationError("An export is already being built; it will be emailed when ready.")
    export = DataExport.objects.create(kind=kind, requested_by=user, workspace_id=workspace_id)
    audit("export.created", actor=user, workspace_id=workspace_id, obj=export, details={"kind": kind})
    transaction.on_commit(
        lambda: async_task("accounts.exports.export_build", export.pk, task_name=f"export-{export.pk}")
    )
    return export


def export_token(export: DataExport) -> str:
    return signing.dumps(export.pk, salt=SALT)


def export_for_download(*, user: User, token: str) -> DataExport:
    """The export a link names, if the signature holds, it has not expired, it is ready and
    ``user`` asked for it, and (a workspace's) they are still one of its owners: a demoted or
    removed owner no longer takes its data. DataExport.DoesNotExist otherwise (the view answers 404)."""
    max_age = settings.EXPORT_RETENTION_DAYS * 86400
    try:
        export_id = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:
        raise DataExport.DoesNotExist from None
    export = DataExport.objects.get(pk=export_id, requested_by=user, status=E.READY)
    if export.workspace_id is not None and not _still_owner(user, export.workspace_id):
        raise DataExport.DoesNotExist
    return export


def _still_owner(user: User, workspace_id: int) -> bool:
    role = Membership.objects.filter(user=user, workspace_id=workspace_id).values_list("role", flat=True).first()
    return role is not None and role_allows(role, Capability.MANAGE_OWNERS)


# --- Building it ----------------------------------------------------------------------------


def _json(archive: zipfile.ZipFile, name: str, data: Any) -> None:
    archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))


def _csv(archive: zipfile.ZipFile, name: str, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            # A cell that looks like a formula is quoted, so a spreadsheet shows it rather than runs it.
            writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" and v else v for v in row])


def _posts(queryset: Any) -> list[dict[str, Any]]:
    from django.db.models import Prefetch

    from publishing.models import Target

    # The account's credentials are deferred: never loaded, so never decrypted, for an export.
    targets = Target.objects.select_related("account").defer("account__secrets").prefetch_related("parts")
    posts = queryset.select_related("author").prefetch_related(
        "contents__attachments", Prefetch("targets", queryset=targets), "comments__author"
    )
    return [
        {
            "id": p.pk, "status": p.status, "approval": p.approval, "scheduled_at": p.scheduled_at,
            "created_at": p.created_at, "author": p.author.email if p.author else None, "link": p.link,
            "overrides": p.overrides, "tenant_id": p.tenant_id, "external_ref": p.external_ref,
            "parts": [{"position": c.position, "kind": c.kind, "text": c.text,
                       "media": [{"media_id": a.media_id, "alt_text": a.alt_text} for a in c.attachments.all()]}
                      for c in p.contents.all()],
            "targets": [{"account_id": t.account_id, "account": t.account.username, "status": t.status,
                         "due_at": t.due_at, "finished_at": t.finished_at, "platform_post_id": t.platform_post_id,
                         "url": t.url, "attempts": t.attempts, "error_code": t.error_code,
                         "error_message": t.error_message,
                         "parts": [{"position": r.position, "kind": r.kind, "status": r.status,
                                    "platform_post_id": r.platform_post_id, "url": r.url, "landed_at": r.landed_at}
                                   for r in t.parts.all()]}
                        for t in p.targets.all()],
            "comments": [{"author": c.author.email if c.author else None, "kind": c.kind, "body": c.body,
                          "created_at": c.created_at} for c in p.comments.all()],
        }
        for p in posts.order_by("id")
    ]  # fmt: skip


def _workspace_info(archive: zipfile.ZipFile, export: DataExport) -> None:
    ws = export.workspace
    if ws is None:
        raise ValueError("a workspace export without a workspace")
    _json(archive, "workspace.json", {"id": ws.pk, "name": ws.name, "timezone": ws.timezone,
                                      "approval_policy": ws.approval_policy, "created_at": ws.created_at,
                                      "plan": ws.plan.name if ws.plan else None})  # fmt: skip
    members = Membership.objects.filter(workspace=ws).select_related("user").order_by("id")
    rows = [[m.user.email, m.user.name, m.role, m.joined_at.isoformat()] for m in members]
    _csv(archive, "members.csv", ["email", "name", "role", "joined_at"], rows)


def _accounts(archive: zipfile.ZipFile, export: DataExport) -> None:
    from connections.models import SocialAccount
    from publishing.models import PostingSlot

    # Named columns only: the credentials column is never selected, let alone decrypted.
    fields = ["id", "platform", "username", "display_name", "profile_url", "instance_url", "status", "created_at"]
    accounts = list(SocialAccount.objects.filter(workspace=export.workspace).order_by("id").values(*fields))
    _json(archive, "accounts.json", accounts)
    _csv(archive, "accounts.csv", fields, ([a[f] for f in fields] for a in accounts))
    slots = PostingSlot.objects.filter(account__workspace=export.workspace).order_by("account_id", "weekday", "time")
    _json(archive, "queue_slots.json", list(slots.values("account_id", "weekday", "time")))


def _workspace_posts(archive: zipfile.ZipFile, export: DataExport) -> None:
    from publishing.models import Post

    posts = _posts(Post.objects.filter(workspace=export.workspace))
    _json(archive, "posts.json", posts)
    rows = ([p["id"], p["status"], p["scheduled_at"], p["author"], p["parts"][0]["text"] if p["parts"] else "",
             len(p["targets"])] for p in posts)  # fmt: skip
    _csv(archive, "posts.csv", ["id", "status", "scheduled_at", "author", "text", "accounts"], rows)


def _media(archive: zipfile.ZipFile, export: DataExport) -> None:
    from publishing.models import Media

    media = list(Media.objects.filter(workspace=export.workspace).order_by("id"))
    listing = []
    for item in media:
        name = f"media/{item.pk}-{item.original_name.replace('/', '_')}"
        with default_storage.open(item.file.name, "rb") as source, archive.open(name, "w") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)  # streamed: a video never sits in memory
        listing.append({"id": item.pk, "file": name, "kind": item.kind, "mime_type": item.mime_type,
                        "size": item.size, "created_at": item.created_at})  # fmt: skip
    _json(archive, "media.json", listing)


def _audit_rows(records: Any) -> Iterable[list[Any]]:
    for r in records.order_by("created_at", "id").iterator(chunk_size=1000):
        yield [r.created_at.isoformat(), r.action, r.actor_label, r.object_type, r.object_id, r.object_label,
               r.ip or "", r.user_agent]  # fmt: skip


AUDIT_HEADER = ["time", "action", "actor", "object_type", "object_id", "object", "ip", "user_agent"]


def _workspace_audit(archive: zipfile.ZipFile, export: DataExport) -> None:
    _csv(
        archive,
        "audit_log.csv",
        AUDIT_HEADER,
        _audit_rows(AuditRecord.objects.filter(workspace_id=export.workspace_id)),
    )


def _profile(archive: zipfile.ZipFile, export: DataExport) -> None:
    from allauth.account.models import EmailAddress

    user = export.requested_by
    emails = list(EmailAddress.objects.filter(user=user).values("email", "verified", "primary"))
    _json(archive, "profile.json", {"email": user.email, "name": user.name, "timezone": user.timezone,
                                    "date_joined": user.date_joined, "email_addresses": emails})  # fmt: skip
    memberships = Membership.objects.filter(user=user).select_related("workspace").order_by("id")
    _json(archive, "memberships.json", [{"workspace": m.workspace.name, "role": m.role, "joined_at": m.joined_at}
                                        for m in memberships])  # fmt: skip


def _personal_posts(archive: zipfile.ZipFile, export: DataExport) -> None:
    from publishing.models import Post

    member_of = Membership.objects.filter(user=export.requested_by).values("workspace_id")
    _json(archive, "posts.json", _posts(Post.objects.filter(author=export.requested_by, workspace__in=member_of)))


def _personal_audit(archive: zipfile.ZipFile, export: DataExport) -> None:
    records = AuditRecord.objects.filter(actor_user=export.requested_by)
    _csv(archive, "activity.csv", AUDIT_HEADER, _audit_rows(records))


SECTIONS: dict[str, list[Section]] = {
    DataExport.Kind.WORKSPACE: [
        ("Workspace and members", _workspace_info), ("Accounts and queue slots", _accounts),
        ("Posts, results and comments", _workspace_posts), ("Media files", _media), ("Audit log", _workspace_audit),
    ],
    DataExport.Kind.PERSONAL: [
        ("Profile and memberships", _profile), ("Posts you wrote", _personal_posts), ("Your activity", _personal_audit),
    ],
}  # fmt: skip


def _progress(export: DataExport, done: int, total: int, step: str) -> None:
    DataExport.objects.filter(pk=export.pk).update(progress=round(100 * done / total), step=step)


def export_build(export_id: int) -> None:
    """The background task. Started twice (a redelivered task), the second start does nothing."""
    if not DataExport.objects.filter(pk=export_id, status=E.PENDING).update(status=E.RUNNING):
        return
    export = DataExport.objects.select_related("workspace", "requested_by").get(pk=export_id)
    try:
        with tempfile.TemporaryFile() as spool:
            _write(spool, export)
            size = spool.tell()
            spool.seek(0)
            name = default_storage.save(f"exports/{uuid.uuid4().hex}.zip", File(spool))
    except Exception as exc:  # any failure is the export's, shown on its page; the worker goes on
        log.exception("export %s failed", export_id)
        DataExport.objects.filter(pk=export_id).update(
            status=E.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        return
    done = DataExport.objects.filter(pk=export_id).update(status=E.READY, file=name, size=size, progress=100,
                                                          step="", finished_at=timezone.now())  # fmt: skip
    if not done:  # deleted meanwhile (its workspace purged, its user gone): the file goes too
        default_storage.delete(name)
        return
    _email_ready(DataExport.objects.get(pk=export_id))


def _write(spool: IO[bytes], export: DataExport) -> None:
    sections = SECTIONS[export.kind]
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, (step, write) in enumerate(sections):
            _progress(export, done, len(sections), step)
            write(archive, export)
    spool.seek(0, io.SEEK_END)


def _email_ready(export: DataExport) -> None:
    url = settings.SITE_URL + reverse("export_download", args=[export_token(export)])
    what = f"{export.workspace.name} workspace" if export.workspace else "personal"
    message = (f"Your {what} data export is ready: {url}\n\nThe link works for you, signed in, until "
               f"{export.expires_at:%Y-%m-%d %H:%M} UTC; then the export is deleted.")  # fmt: skip
    send_mail("[Postwright] Your data export is ready", message, None, [export.requested_by.email], fail_silently=True)


def exports_expire(*, before: Any) -> int:
    """Finished exports older than ``before``: the file, then the row (the retention job)."""
    old = list(DataExport.objects.filter(finished_at__lt=before))
    for export in old:
        if export.file:
            default_storage.delete(export.file.name)
        export.delete()
    return len(old)
