"""Publishing a whole request through a provider's per-part contract, for provider-level tests.

The engine does this for real (publishing/engine.py), recording each part as it lands; here the
parts are simply sent in order, each handed the parts before it, with Pending answers resumed at
once (a test mocks the platform's "processing" answers).
"""

from dataclasses import dataclass

from connections.providers.base import (
    AccountState,
    MemoryUploads,
    PartKind,
    PartRequest,
    Pending,
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
