"""The Demo network's public side: the profile and post pages its links point to, and the
consent page a connect through the API sends the user to (as a real platform's would).

Read-only, and only for Demo accounts connected in one of the viewer's workspaces: the Demo
network lives inside this server, so its pages must not show one tenant's posts to another.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from connections.models import SocialAccount
from connections.providers.demo.models import DemoPost
from connections.providers.demo.provider import DemoConsentForm, DemoProvider
from connections.services import redirect_uri_for

PROFILE_POSTS = 50
MAX_THREAD_DEPTH = 30  # the composer allows 20 replies and a first comment


def _account_or_404(request: HttpRequest, handle: str) -> SocialAccount:
    if not request.user.is_authenticated:  # login_required says so; this tells the type checker
        raise Http404("No such Demo network account here.")
    account = (
        SocialAccount.objects.filter(platform="demo", external_id=handle, workspace__memberships__user=request.user)
        .defer("secrets")
        .first()
    )
    if account is None:
        raise Http404("No such Demo network account here.")
    return account


@login_required
@require_GET
def demo_profile(request: HttpRequest, handle: str) -> HttpResponse:
    account = _account_or_404(request, handle)
    posts = DemoPost.objects.filter(account_external_id=handle, parent=None).order_by("-created_at")[:PROFILE_POSTS]
    return render(request, "connections/demo/profile.html", {"account": account, "posts": posts})


@login_required
@require_GET
def demo_post(request: HttpRequest, handle: str, post_id: str) -> HttpResponse:
    account = _account_or_404(request, handle)
    post = DemoPost.objects.filter(account_external_id=handle, post_id=post_id).first()
    if post is None:
        raise Http404("No such post on the Demo network.")
    return render(request, "connections/demo/post.html", {"account": account, "post": post, "replies": _thread(post)})


def _thread(post: DemoPost) -> list[DemoPost]:
    """Everything below the post (a thread is a chain of replies; a first comment answers the
    post itself), level by level, in the order it was published."""
    found: list[DemoPost] = []
    level = [post.pk]
    for _depth in range(MAX_THREAD_DEPTH):
        children = list(DemoPost.objects.filter(parent_id__in=level).order_by("created_at", "id"))
        if not children:
            break
        found += children
        level = [child.pk for child in children]
    return sorted(found, key=lambda item: (item.created_at, item.pk))


@require_http_methods(["GET", "POST"])
def demo_consent(request: HttpRequest) -> HttpResponse:
    """The Demo network's consent page. No Postwright login: the person consenting is the Demo
    network's user (a developer's end user). It only ever answers our own callback, so it cannot
    be used to bounce anyone elsewhere."""
    params = request.POST if request.method == "POST" else request.GET
    state, redirect_uri = params.get("state", ""), params.get("redirect_uri", "")
    if not state or redirect_uri != redirect_uri_for(DemoProvider.id):
        return render(request, "connections/demo/consent.html", {"invalid": True}, status=400)
    form = DemoConsentForm(request.POST or None)
    if request.method == "POST" and request.POST.get("answer") == "deny":
        return HttpResponseRedirect(f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}")
    if request.method == "POST" and form.is_valid():
        code = DemoProvider.consent_code(form.cleaned_data)
        return HttpResponseRedirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")
    context = {"form": form, "state": state, "redirect_uri": redirect_uri}
    return render(request, "connections/demo/consent.html", context, status=400 if form.errors else 200)
