"""The home page: what goes out next, what needs a person (with the next action), account health,
and a first-steps checklist that ticks itself off; constant queries however many posts."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import invitation_create
from connections.models import SocialAccount
from publishing import services
from publishing.inputs import PartInput, PostInput, When
from publishing.models import Post, Target

HOME = reverse("dashboard")


def _post(team, accounts, text: str, when: When | None = None) -> Post:
    data = PostInput(parts=[PartInput(text)], account_ids=[a.id for a in accounts], when=when or When.draft())
    return services.post_create(actor=team.membership("editor"), data=data)


def _failed(team, accounts, text: str, status: str = Target.Status.FAILED) -> Post:
    post = _post(team, accounts, text, When.at(timezone.now() + timedelta(hours=1)))
    Target.objects.filter(post=post).update(status=status)
    Post.objects.filter(pk=post.pk).update(status=Post.Status.FAILED)
    return post


def test_a_new_workspace_sees_three_first_steps_to_take(team):
    page = team.client("owner").get(HOME)
    steps = [(s.label, s.done) for s in page.context["home"].steps]
    # The team fixture already has teammates: that step is done, the other two are not.
    assert steps == [("Connect an account", False), ("Schedule a first post", False), ("Invite a teammate", True)]
    assert b"First steps" in page.content


def test_the_checklist_ticks_itself_off_and_then_goes_away(team, demo_accounts):
    _post(team, demo_accounts[:1], "Soon", When.at(timezone.now() + timedelta(days=1)))
    home = team.client("owner").get(HOME)
    assert home.context["home"].onboarding_done
    assert b"First steps" not in home.content


def test_a_lone_owner_is_asked_to_invite_until_an_invitation_exists(db):
    from accounts.models import Membership
    from accounts.services import workspace_create
    from tests.fixtures import login, make_user

    owner = make_user()
    workspace = workspace_create(owner=owner, name="Solo")
    client = login(owner)
    assert not client.get(HOME).context["home"].steps[2].done
    invitation_create(
        actor=Membership.objects.get(user=owner, workspace=workspace), email="b@example.com", role="editor"
    )
    assert client.get(HOME).context["home"].steps[2].done


def test_upcoming_and_needs_you_with_the_next_action(team, demo_accounts):
    _post(team, demo_accounts[:1], "Goes out tomorrow", When.at(timezone.now() + timedelta(days=1)))
    _post(team, demo_accounts[:1], "Just a draft")
    _failed(team, demo_accounts, "This one failed")
    _failed(team, demo_accounts[1:], "No answer came", status=Target.Status.UNKNOWN)
    page = team.client("viewer").get(HOME)
    home = page.context["home"]
    assert [p.main[0].text for p in home.upcoming] == ["Goes out tomorrow"]
    actions = {post.main[0].text: action.label for post, action in home.needs_you}
    assert actions == {"This one failed": "Retry 2 accounts", "No answer came": "Check whether it went out"}
    html = page.content.decode()
    assert "Goes out tomorrow" in html
    assert "Just a draft" not in html
    assert "New post" not in html  # a viewer cannot write
    assert "New post" in team.client("editor").get(HOME).content.decode()


def test_a_failure_with_a_broken_account_says_reconnect_first(team, demo_accounts):
    _failed(team, demo_accounts[:1], "Token expired")
    SocialAccount.objects.filter(pk=demo_accounts[0].pk).update(status=SocialAccount.Status.NEEDS_RECONNECT)
    home = team.client("editor").get(HOME).context["home"]
    ((_post, action),) = home.needs_you
    assert action.label == f"Reconnect {demo_accounts[0].username}, then retry"
    assert action.url == reverse("connections")
    assert (home.accounts_total, home.accounts_unwell) == (2, 1)
    assert home.accounts[0].status == SocialAccount.Status.NEEDS_RECONNECT  # the unwell first


def test_other_workspaces_posts_and_accounts_are_not_shown(team, demo_accounts):
    _post(team, demo_accounts[:1], "Ours", When.at(timezone.now() + timedelta(days=1)))
    home = team.client("outsider").get(HOME).context["home"]
    assert (home.upcoming, home.needs_you, home.accounts) == ([], [], [])


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    return len(queries)


def test_home_queries_do_not_grow_with_posts(team, demo_accounts):
    client = team.client("editor")

    def add(n: int) -> None:
        _post(team, demo_accounts, f"Upcoming {n}", When.at(timezone.now() + timedelta(days=1, minutes=n)))
        _failed(team, demo_accounts, f"Failed {n}")

    add(0)
    client.get(HOME)  # the session's first read
    few = _home_queries(client)
    for n in range(1, 8):
        add(n)
    many = _home_queries(client)
    assert many == few
    assert few <= 20, few
