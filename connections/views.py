import logging
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import (
    AuthedRequest,
    MemberRequest,
    get_workspace_object_and_membership_or_404,
    get_workspace_object_or_404,
    workspace_required,
)
from accounts.actors import Actor
from accounts.confirm import confirmation_page
from accounts.models import Membership
from accounts.roles import Capability, role_allows
from analytics.imports import accounts_mark_imports, import_start
from connections import avatars, services
from connections.errors import ConnectError, ProviderError
from connections.forms import InstanceForm, OAuthAppForm
from connections.models import ConnectSession, OAuthApp, SocialAccount
from connections.providers.base import ConnectMethod, Provider
from connections.registry import enabled_providers, get_provider, starter_hints

log = logging.getLogger(__name__)


def _provider_or_404(platform: str) -> Provider:
    try:
        return get_provider(platform)
    except KeyError:
        raise Http404 from None


@workspace_required()
def account_list(request: MemberRequest) -> HttpResponse:
    accounts = list(
        SocialAccount.objects.filter(workspace=request.workspace)
        .select_related("grant")
        .defer("secrets", "grant__secrets")  # the list shows health, never needs a token decrypted
        .order_by("platform", "username")
    )
    _mark_siblings(accounts)
    providers = enabled_providers()
    checkable = {provider.id for provider in providers if provider.supports_check}
    admin = role_allows(request.membership.role, Capability.MANAGE_CONNECTIONS)
    for account in accounts:
        account.can_check = account.platform in checkable  # type: ignore[attr-defined]  # for the template only
        # Quota and such: the provider reads Postwright's own records, no token is decrypted.
        notes = get_provider(account.platform).account_notes(account=account.public_state()) if admin else ()
        account.notes = notes  # type: ignore[attr-defined]  # for the template only
    accounts_mark_imports(accounts)
    configured = services.configured_platforms(workspace=request.workspace, providers=providers)
    platforms = [
        {"provider": provider, "configured": provider.id in configured}
        for provider in providers
        if not provider.connected_through  # its accounts are offered in the other platform's consent
    ]
    context = {"accounts": accounts, "platforms": platforms, "starter_hints": [] if accounts else starter_hints()}
    return render(request, "connections/account_list.html", context)


def _mark_siblings(accounts: list[SocialAccount]) -> None:
    """Set ``siblings`` on each account: how many other connected accounts share its consent."""
    connected: dict[int, int] = {}
    for account in accounts:
        if account.grant_id and account.status != SocialAccount.Status.DISCONNECTED:
            connected[account.grant_id] = connected.get(account.grant_id, 0) + 1
    for account in accounts:
        mine = account.status != SocialAccount.Status.DISCONNECTED
        siblings = connected.get(account.grant_id, 0) - 1 if mine and account.grant_id else 0
        account.siblings = siblings  # type: ignore[attr-defined]  # for the template; not a field


@workspace_required(Capability.MANAGE_CONNECTIONS)
@require_http_methods(["GET", "POST"])
def connect(request: MemberRequest, platform: str) -> HttpResponse:
    """Start connecting: a server or credential form where the platform needs one, else straight to consent."""
    provider = _provider_or_404(platform)
    if provider.connected_through:
        through = _provider_or_404(provider.connected_through)
        messages.info(request, f"{provider.name} accounts are connected through {through.name}: connect that instead.")
        return redirect("connections")
    tenant_id = request.POST.get("tenant_id", "")[:255]
    reconnect = _reconnect_target(request, provider)
    if provider.connect_method == ConnectMethod.OAUTH2:
        return _connect_oauth(request, provider, tenant_id, reconnect)
    form_class = provider.connect_form_class()
    initial = (
        provider.connect_initial(username=reconnect.username, instance_url=reconnect.instance_url) if reconnect else {}
    )
    form = form_class(request.POST or None, initial=initial) if form_class else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            account = services.connect_with_form(
                actor=Actor.of(request.membership),
                provider=provider,
                data=form.cleaned_data if form else {},
                tenant_id=tenant_id,
            )
        except ConnectError as exc:
            if form is None:
                messages.error(request, str(exc))
                return redirect("connections")
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Connected {provider.name} account {account.username}.")
            _import_if_asked(request, request.membership, [account])
            return redirect("connections")
    status = 400 if form is not None and form.errors else 200
    context = {"provider": provider, "form": form, "reconnect": reconnect,
               "offers_import": _offers_import(provider, reconnect)}  # fmt: skip
    return render(request, "connections/connect_form.html", context, status=status)


def _offers_import(provider: Provider, reconnect: SocialAccount | None) -> bool:
    """The connect form's opt-in box: a new account of a platform whose past posts can be read,
    connected by this form (a consent redirect offers it on the Accounts page afterwards)."""
    return provider.supports_import and reconnect is None and provider.connect_method != ConnectMethod.OAUTH2


def _import_if_asked(request: HttpRequest, membership: Membership, accounts: list[SocialAccount]) -> None:
    """The connect step's "Also import past posts" box, ticked: an import per account that can."""
    if request.POST.get("import_past") != "1":
        return
    for account in accounts:
        try:
            import_start(actor=Actor.of(membership), account=account)
        except ValidationError as exc:
            messages.info(request, " ".join(exc.messages))
        else:
            messages.info(request, f"Importing the past posts of {account.username}; the progress shows below.")


def _reconnect_target(request: HttpRequest, provider: Provider) -> SocialAccount | None:
    account_id = request.GET.get("account") or request.POST.get("account")
    if not account_id:
        return None
    # The consent's provider reconnects: an Instagram account found through a Facebook login
    # is renewed by logging in to Facebook again.
    of_provider = SocialAccount.objects.filter(Q(platform=provider.id) | Q(grant__platform=provider.id))
    return get_workspace_object_or_404(request, of_provider, capability=Capability.MANAGE_CONNECTIONS, pk=account_id)


def _connect_oauth(
    request: MemberRequest, provider: Provider, tenant_id: str, reconnect: SocialAccount | None
) -> HttpResponse:
    form = None
    instance_url = reconnect.instance_url if reconnect else ""
    if provider.asks_for_instance and not instance_url:
        form = InstanceForm(request.POST or None, example=provider.instance_example)
        if request.method != "POST" or not form.is_valid():
            context = {"provider": provider, "form": form, "reconnect": reconnect}
            return render(request, "connections/connect_form.html", context, status=400 if form.errors else 200)
        instance_url = form.cleaned_data["instance"]
    elif request.method != "POST":
        context = {"provider": provider, "form": None, "reconnect": reconnect}
        return render(request, "connections/connect_form.html", context)
    try:
        url = services.connect_start(
            actor=Actor.of(request.membership),
            provider=provider,
            instance_url=instance_url,
            tenant_id=tenant_id,
            reconnect_account=reconnect,
        )
    except (ConnectError, ProviderError) as exc:
        message = str(exc) if isinstance(exc, ConnectError) else f"{provider.name} refused: {exc.message}"
        if form is not None:
            form.add_error(None, message)
            context = {"provider": provider, "form": form, "reconnect": reconnect}
            return render(request, "connections/connect_form.html", context, status=400)
        messages.error(request, message)
        return redirect("connections")
    return redirect(url)


def connect_callback(request: HttpRequest, platform: str) -> HttpResponse:
    """The platform sends the user back here. An attempt an API key started finishes without a
    login (the developer's end user is not a member) and sends them on to the developer's page."""
    provider = _provider_or_404(platform)
    session = services.connect_session_of_key(provider=provider, state=request.GET.get("state", ""))
    if session is not None:
        return _key_callback(request, provider, session)
    return _member_callback(cast(AuthedRequest, request), platform)  # login_required makes it so


def _key_callback(request: HttpRequest, provider: Provider, session: ConnectSession) -> HttpResponse:
    from api.keys import api_key_actor_by_id  # the API app knows its keys; connections does not

    actor = api_key_actor_by_id(session.api_key_id) if session.api_key_id else None
    try:
        session, accounts = services.connect_complete(
            actor=actor, session=session, provider=provider, params=request.GET
        )
    except ConnectError as exc:
        return _return_to(session, status="error", message=str(exc))
    if session.status == ConnectSession.Status.SELECTING:
        return _return_to(session, status="pending", session=str(session.pk))
    return _return_to(session, status="connected", account_id=",".join(str(a.pk) for a in accounts))


def _return_to(attempt: ConnectSession, **params: str) -> HttpResponse:
    """The developer's redirect_uri with our answer added to its own query."""
    parts = urlsplit(attempt.return_to)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return HttpResponseRedirect(urlunsplit(parts._replace(query=query)))


@login_required
def _member_callback(request: AuthedRequest, platform: str) -> HttpResponse:
    provider = _provider_or_404(platform)
    try:
        session = services.connect_callback(user=request.user, provider=provider, params=request.GET)
    except ConnectError as exc:
        messages.error(request, str(exc))
        return redirect("connections")
    if session.status == ConnectSession.Status.SELECTING:
        return redirect("connect_select", session_id=session.pk)
    messages.success(request, f"Connected your {provider.name} account.")
    return redirect("connections")


@login_required
@require_http_methods(["GET", "POST"])
def connect_select(request: AuthedRequest, session_id: int) -> HttpResponse:
    session, membership = get_workspace_object_and_membership_or_404(
        request,
        ConnectSession.objects.filter(created_by=request.user),
        capability=Capability.MANAGE_CONNECTIONS,
        pk=session_id,
    )
    provider = _provider_or_404(session.platform)
    if request.method == "POST":
        try:
            accounts = services.connect_select(
                actor=Actor.of(membership), session=session, external_ids=request.POST.getlist("account")
            )
        except ConnectError as exc:
            messages.error(request, str(exc))
        else:
            names = ", ".join(account.display_name or account.username for account in accounts)
            messages.success(request, f"Connected {names}.")
            _import_if_asked(request, membership, accounts)
            return redirect("connections")
    if session.status != ConnectSession.Status.SELECTING or session.expired:
        messages.error(request, "This selection has expired. Start the connection again.")
        return redirect("connections")
    context = {"provider": provider, "session": session, "choices": services.pending_choices(session),
               "offers_import": provider.supports_import}  # fmt: skip
    return render(request, "connections/select.html", context)


@login_required
@require_POST
def account_disconnect(request: AuthedRequest, account_id: int) -> HttpResponse:
    account, membership = get_workspace_object_and_membership_or_404(
        request, SocialAccount, capability=Capability.MANAGE_CONNECTIONS, pk=account_id
    )
    ask = confirmation_page(
        request, title=f"Disconnect {account.username}?", button="Disconnect", back=reverse("connections"),
        message="Its scheduled posts will not go out and its login is revoked. Published posts stay in your history.",
    )  # fmt: skip
    if ask:
        return ask
    services.account_disconnect(actor=Actor.of(membership), account=account)
    messages.success(request, f"Disconnected {account.username}. Its published posts stay in your history.")
    return redirect("connections")


@login_required
@require_POST
def account_check(request: AuthedRequest, account_id: int) -> HttpResponse:
    account, membership = get_workspace_object_and_membership_or_404(
        request, SocialAccount, capability=Capability.EDIT_CONTENT, pk=account_id
    )
    if account.status == SocialAccount.Status.DISCONNECTED:
        messages.error(request, "This account is disconnected: connect it again first.")
        return redirect("connections")
    try:
        services.account_check(actor=Actor.of(membership), account=account)
        messages.success(request, f"{account.username} is working.")
    except ProviderError as exc:
        messages.error(request, f"{account.username}: {exc.message}")
    return redirect("connections")


@workspace_required(Capability.MANAGE_CONNECTIONS)
@require_http_methods(["GET", "POST"])
def app_settings(request: MemberRequest, platform: str) -> HttpResponse:
    """Bring your own keys: this workspace's OAuth client for a platform."""
    provider = _provider_or_404(platform)
    if not provider.needs_app_credentials or provider.asks_for_instance:
        raise Http404
    app = OAuthApp.objects.filter(workspace=request.workspace, platform=platform).first()
    form = OAuthAppForm(request.POST or None, instance=app or OAuthApp(workspace=request.workspace, platform=platform))
    if request.method == "POST":
        actor = Actor.of(request.membership)
        if request.POST.get("delete") and app is not None:
            services.oauth_app_delete(actor=actor, app=app)
            messages.success(request, f"Removed this workspace's {provider.name} keys.")
            return redirect("connections")
        if form.is_valid():
            data = form.cleaned_data
            services.oauth_app_save(actor=actor, platform=platform, client_id=data["client_id"],
                                    client_secret=data["client_secret"], scopes=data["scopes"])  # fmt: skip
            messages.success(request, f"Saved {provider.name} keys for this workspace.")
            return redirect("connections")
    context = {"provider": provider, "form": form, "app": app, "redirect_uri": services.redirect_uri_for(platform)}
    return render(request, "connections/app_form.html", context, status=400 if form.errors else 200)


@workspace_required(Capability.EDIT_CONTENT)
@require_GET
def account_avatar(request: MemberRequest, account_id: int, key: str) -> HttpResponse:
    """The composer's avatar of one of this workspace's accounts (see connections/avatars.py):
    only a URL its provider returned, named by an opaque key; another workspace's account, or a
    key no avatar of this account has, is a 404."""
    account = get_workspace_object_or_404(request, SocialAccount, capability=Capability.EDIT_CONTENT, pk=account_id)
    avatar = avatars.cached_avatar(account.pk, key)
    if avatar is None:
        if avatars.was_refused(account.pk, key):
            return HttpResponse(status=502)
        url = avatars.matching_url(account.pk, key, _avatar_urls(account))
        if url is None:
            raise Http404
        try:
            avatar = avatars.avatar_fetch(account.pk, key, url)
        except avatars.AvatarRefused:
            return HttpResponse(status=502)  # the img is simply not drawn; the reason is logged
    response = HttpResponse(avatar.data, content_type=avatar.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _avatar_urls(account: SocialAccount) -> list[str]:
    """The avatars the provider names for the account now (its composer notes, kept a minute)."""
    try:
        notes = get_provider(account.platform).composer_notes(account=account.state())
    except ProviderError:
        return []
    return [note.image_url for note in notes if note.image_url]
