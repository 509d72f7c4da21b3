"""Audit records for what allauth and Django's auth do on their own: sign-ins (and failures),
password, email and two-factor changes; and an email to the user when a sign-in comes from a
browser never seen on their account."""

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.mail import send_mail
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit, device_fingerprint, request_info
from accounts.models import KnownDevice, User, Workspace


@receiver(user_logged_in)
def signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None or "REMOTE_ADDR" not in request.META:
        return  # not a sign-in over HTTP: code (or a test client's force_login) logging a user in

    audit("auth.login", actor=user, obj=user, request=request)
    _check_device(request, user)


def _check_device(request: HttpRequest, user: User) -> None:
    info = request_info(request)
    device, created = KnownDevice.objects.get_or_create(
        user=user, fingerprint=device_fingerprint(info.user_agent), defaults={"user_agent": info.user_agent}
    )
    if not created:
        KnownDevice.objects.filter(pk=device.pk).update(last_seen=timezone.now())
        return
    if KnownDevice.objects.filter(user=user).count() == 1:
        return  # the first sign-in ever (just after signing up): nothing to compare with
    audit("auth.new_device", actor=user, obj=user, request=request)
    when = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    message = (
        f"Someone signed in to your Postwright account on {when} from a browser we had not seen before.\n\n"
        f"Address: {info.ip or 'unknown'}\nBrowser: {info.user_agent or 'unknown'}\n\n"
        "If this was you, there is nothing to do. If not, change your password and turn on two-factor "
        f"authentication: {settings.SITE_URL}/accounts/password/change/"
    )
    send_mail("[Postwright] New sign-in to your account", message, None, [user.email], fail_silently=True)


@receiver(user_login_failed)
def sign_in_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Django has already masked the password; the address tried is all we keep.
    tried = str(credentials.get("email") or credentials.get("username") or "")[:200]
    user = User.objects.filter(email__iexact=tried).first() if tried else None
    audit("auth.login_failed", actor=None, obj=user, label=tried, details={"tried": tried}, request=request)


def _user_event(action: str) -> Any:
    def record(sender: Any, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any) -> None:
        user = user or getattr(kwargs.get("email_address"), "user", None)
        email = kwargs.get("email_address") or kwargs.get("to_email_address")
        details = {"email": email.email} if email is not None else {}
        if kwargs.get("authenticator") is not None:
            details["type"] = kwargs["authenticator"].type
        audit(action, actor=user, obj=user, details=details, request=request)

    return record


_RECEIVERS = {
    "auth.password_changed": account_signals.password_changed,
    "auth.password_set": account_signals.password_set,
    "auth.password_reset": account_signals.password_reset,
    "auth.email_added": account_signals.email_added,
    "auth.email_removed": account_signals.email_removed,
    "auth.email_changed": account_signals.email_changed,
    "auth.email_confirmed": account_signals.email_confirmed,
    "mfa.added": mfa_signals.authenticator_added,
    "mfa.removed": mfa_signals.authenticator_removed,
    "mfa.reset": mfa_signals.authenticator_reset,
}
for _action, _signal in _RECEIVERS.items():
    _signal.connect(_user_event(_action), dispatch_uid=f"audit-{_action}", weak=False)


@receiver(pre_save, sender=Workspace)
def plan_changed(sender: Any, instance: Workspace, **kwargs: Any) -> None:
    """Plans change in Django admin (operators), so the model is the one place that sees it."""
    update_fields = kwargs.get("update_fields")
    if instance.pk is None or (update_fields is not None and "plan" not in update_fields):
        return
    before = Workspace.objects.filter(pk=instance.pk).values_list("plan_id", flat=True).first()
    if before != instance.plan_id:
        details = {"from_plan_id": before, "to_plan_id": instance.plan_id}
        audit("workspace.plan_changed", workspace_id=instance.pk, obj=instance, details=details)
