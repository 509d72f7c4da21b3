"""Publishing a whole request through a provider's per-part contract, for provider-level tests,
and the set-up the providers' test modules share (a stored account, a post run by the engine,
the requests a test made).

The engine does this for real (publishing/engine.py), recording each part as it lands; here the
parts are simply sent in order, each handed the parts before it, with Pending answers resumed at
once (a test mocks the platform's "processing" answers).
"""

from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import pytest
import responses

from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.base import (
    AccountState,
    Connection,
    MemoryUploads,
    PartKind,
    PartRequest,
    Pending,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    part_key,
)


@dataclass(frozen=True)
class Published:
    main: PublishedItem
    replies: tuple[PublishedItem, ...] = ()
    first_comment: PublishedItem | None = None


def part_request(request: PublishRequest, index: int, landed: list[PublishedItem], **kwargs) -> PartRequest:
    kind, content = request.parts()[index]
    parent = None if index == 0 else (landed[index - 1] if kind == PartKind.REPLY else landed[0])
    return PartRequest(
        index=index, kind=kind, content=content, key=part_key(request.idempotency_key, index),
        root=landed[0] if index else None, parent=parent, **kwargs,
    )  # fmt: skip


def publish_all(provider: Provider, *, account: AccountState, request: PublishRequest, max_checks: int = 20):
    landed: list[PublishedItem] = []
    uploads = MemoryUploads()
    for index in range(len(request.parts())):
        state: dict = {}
        for _ in range(max_checks):
            part = part_request(request, index, landed, state=state, uploads=uploads)
            answer = provider.publish_part(account=account, request=request, part=part)
            if not isinstance(answer, Pending):
                break
            state = dict(answer.state)
        else:
            raise AssertionError(f"part {index} still pending after {max_checks} checks")
        landed.append(answer)
    kinds = [kind for kind, _ in request.parts()]
    replies = tuple(item for item, kind in zip(landed, kinds, strict=True) if kind == PartKind.REPLY)
    comment = landed[-1] if kinds[-1] == PartKind.FIRST_COMMENT else None
    return Published(main=landed[0], replies=replies, first_comment=comment)


def find_main(provider: Provider, *, account: AccountState, request: PublishRequest) -> PublishedItem | None:
    return provider.find_part(account=account, request=request, part=part_request(request, 0, []))


# --- Set-up the providers' test modules share -------------------------------------------------


def calls(method: str, url_start: str) -> list:
    """The requests this test made with ``method`` to URLs starting with ``url_start``."""
    return [c for c in responses.calls if c.request.method == method and c.request.url.startswith(url_start)]


def multipart_fields(call) -> list[tuple[str, bytes]]:
    """The parts of a multipart/form-data request, in the order sent: (field name, content)."""
    head = f"Content-Type: {call.request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + call.request.body)
    return [(part.get_param("name", header="content-disposition"), part.get_payload(decode=True))
            for part in message.iter_parts()]  # fmt: skip


def no_thread(provider: Provider, *, account: AccountState, request: PublishRequest, landed: PublishedItem) -> None:
    """A platform without replies or comments refuses the second part, before any call."""
    with pytest.raises(ProviderError) as caught:
        provider.publish_part(account=account, request=request, part=part_request(request, 1, [landed]))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "no_threads")
    assert not responses.calls


def saved_account(team: Any, platform: str, state: AccountState) -> SocialAccount:
    """``state`` stored in the team's workspace as connecting stores an account (on its grant)."""
    from connections.services import account_save

    connection = Connection(profile=Profile(external_id=state.external_id, username=state.username),
                            secrets=dict(state.secrets), extra=dict(state.extra))  # fmt: skip
    return account_save(workspace=team.workspace, platform=platform, connection=connection, user=None)


def engine_publish(team: Any, capture: Callable[..., Any], account: SocialAccount, parts: list[Any],
                   overrides: dict[str, Any] | None = None) -> Any:  # fmt: skip
    """A post to ``account`` created by the team's editor to go now, and the engine's run of it:
    its target afterwards. ``capture`` is pytest-django's django_capture_on_commit_callbacks."""
    from publishing import engine
    from publishing.services import PostInput, When, post_create

    data = PostInput(parts=parts, account_ids=[account.id], when=When.now(), overrides=overrides or {})
    post = post_create(actor=team.membership("editor"), data=data)
    with capture(execute=True):
        engine.targets_claim_due()
    return post.targets.get()


def plan_problems(team: Any, account: SocialAccount, text: str, overrides: dict[str, Any] | None = None) -> list:
    """What the services find wrong with a post of ``text`` to ``account`` going now."""
    from publishing.rules import post_plan
    from publishing.services import PartInput, PostInput, When

    data = PostInput(parts=[PartInput(text=text)], account_ids=[account.id], when=When.now(),
                     overrides=overrides or {})  # fmt: skip
    return list(post_plan(workspace=team.workspace, data=data).problems)
