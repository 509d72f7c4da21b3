"""A confirm step for actions that destroy or cut off (cancel, disconnect, leave, remove).

The button's form posts without ``confirm=1``; static/js/app.js asks in a dialog and adds it.
Without script, or for a hand-made POST, the server answers with a page that asks instead, so no
request is ever a one-click destroy. Views call this after their access checks (an outsider still
gets 404, a viewer 403) and before the service.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"


def confirmation_page(
    request: HttpRequest,
    *,
    title: str,
    message: str,
    button: str,
    back: str,
    carry: tuple[str, ...] = (),
    details: list[str] | None = None,
) -> HttpResponse | None:
    """None when the request carries the confirmation; else the page that asks for it.

    ``carry`` names the fields the page posts again with the confirmation (a bulk action's
    choice and selection); ``details`` are lines listed under the question."""
    if request.POST.get(CONFIRM_FIELD) == "1":
        return None
    hidden = [(name, value) for name in carry for value in request.POST.getlist(name)]
    context = {"title": title, "message": message, "button": button, "back": back, "action": request.path,
               "hidden": hidden, "details": details or []}  # fmt: skip
    return render(request, "confirm.html", context)
