import pytest
from django.db import transaction

from events.services import EventSpec, event_emit
from tests.webhooks.receiver import start_receiver
from webhooks import sender
from webhooks.services import endpoint_create


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def endpoint(team, receiver):
    created, secret = endpoint_create(actor=team.membership("admin"), url=receiver.url, description="CI")
    created.plain_secret = secret
    return created


def emit(workspace, type_: str = "post.published", *, subject_id: int = 7, **payload):
    with transaction.atomic():
        return event_emit(
            EventSpec(
                workspace_id=workspace.pk, type=type_, subject_type=type_.split(".")[0], subject_id=subject_id,
                post_id=subject_id if type_.startswith(("post.", "target.")) else None,
                payload={"post_id": subject_id, "status": type_.split(".")[-1], **payload},
            )
        )  # fmt: skip


def run_pass():
    """One sender pass, sequential (no thread pool): fan out, claim, send, record."""
    return sender.sender_pass()


@pytest.fixture(autouse=True)
def _outbox_cursor(db):
    """The cursor row the migration makes: a transactional test elsewhere may have flushed it."""
    from webhooks import sender as webhook_sender

    webhook_sender._cursor()
