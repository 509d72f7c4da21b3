import pytest

from connections.registry import get_provider
from connections.services import account_save


@pytest.fixture
def demo_accounts(team):
    provider = get_provider("demo")
    return [
        account_save(
            workspace=team.workspace,
            platform="demo",
            connection=provider.connect_with_form(data={"identifier": handle, "display_name": handle}),
            user=team.users["admin"],
        )
        for handle in ("alpha", "beta")
    ]
