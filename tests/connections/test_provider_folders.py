"""A platform is one folder and one registry line: nothing outside its folder names it.

The folder brings its own Django app (models, admin, migrations) and settings; config/settings.py
installs and loads them because the package has them, and reads instance-wide OAuth keys for
every registered platform. A scan keeps settings, templates and generic code free of platform ids.
"""

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import Resolver404, clear_url_caches, resolve

import config.urls
from config.env import EnvError, env_client_credentials
from connections.providers.demo.models import DemoPost
from connections.registry import PROVIDERS, env_prefix, platform_package, platform_packages_with, platform_settings

ROOT = Path(__file__).resolve().parents[2]
SCANNED = (".py", ".html", ".js", ".txt")
# vendor: third-party bundles (swagger-ui names Facebook and Instagram icons), not our code.
SKIPPED_DIRS = {
    ".venv",
    ".cache",
    ".git",
    "node_modules",
    "staticfiles",
    ".local",
    "__pycache__",
    "migrations",
    "vendor",
}
# The one place a platform id may appear outside its folder: its own registry line.
REGISTRY = ROOT / "connections" / "registry.py"
REGISTRY_LINE = re.compile(r'^\s*"(?P<id>[^"]+)": \("[^"]*", "[\w.]+"\),$')


def _platform_dirs() -> list[Path]:
    return [ROOT.joinpath(*platform_package(platform).split(".")) for platform in PROVIDERS]


def _generic_files(root: Path, excluded: list[Path]) -> list[Path]:
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        # Tests and benchmarks set up particular platforms on purpose; the product must not.
        if relative.parts[0] in ("tests", "bench") or SKIPPED_DIRS.intersection(relative.parts):
            continue
        if path.suffix in SCANNED and path.is_file() and not any(path.is_relative_to(d) for d in excluded):
            files.append(path)
    return files


def _python_literals(source: str) -> list[tuple[int, str]]:
    """Every string literal's value with its line (an f-string's raw text); comments are not code."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING:
            try:
                value = ast.literal_eval(token.string)
            except ValueError:  # an f-string
                value = token.string
            if isinstance(value, str):
                found.append((token.start[0], value))
    return found


def _quoted(source: str) -> list[tuple[int, str]]:
    """Quoted values in templates and scripts: {% if provider.id == 'x' %}, data-platform="x"."""
    return [
        (source.count("\n", 0, match.start()) + 1, match.group(2))
        for match in re.finditer(r"(['\"])([^'\"\n]{1,64})\1", source)
    ]


def platform_ids_in(path: Path, ids: set[str]) -> list[str]:
    source = path.read_text(encoding="utf-8")
    literals = _python_literals(source) if path.suffix == ".py" else _quoted(source)
    lines = source.splitlines()
    hits = []
    for line, value in literals:
        if value.strip() not in ids:
            continue
        registry_line = REGISTRY_LINE.match(lines[line - 1])
        if path == REGISTRY and registry_line and registry_line["id"] == value:
            continue
        hits.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {value!r}")
    return hits


def test_no_platform_id_outside_its_folder():
    ids = set(PROVIDERS)
    hits = [hit for path in _generic_files(ROOT, _platform_dirs()) for hit in platform_ids_in(path, ids)]
    assert hits == [], "platform ids belong in the platform's folder (use a provider attribute):\n" + "\n".join(hits)


def test_the_scan_finds_ids_in_code_templates_and_settings_but_not_in_comments(tmp_path):
    (tmp_path / "views.py").write_text('# a comment naming "newnet" is fine\nif platform == "newnet":\n    pass\n')
    (tmp_path / "page.html").write_text("<p>{% if provider.id == 'newnet' %}Hi{% endif %}</p>\n")
    (tmp_path / "settings.py").write_text('X = {p: p.upper() for p in ("newnet", "other")}\nY = f"newnet"\n')
    (tmp_path / "clean.py").write_text('"""About the newnet network."""\nZ = "newnet/"\n')
    hits = sorted(hit for path in tmp_path.iterdir() for hit in platform_ids_in(path, {"newnet"}))
    assert [hit.rsplit("/", 1)[-1] for hit in hits] == [
        "page.html:1: 'newnet'",
        "settings.py:1: 'newnet'",
        "views.py:2: 'newnet'",
    ]


def test_only_the_registry_line_itself_is_allowed():
    source = REGISTRY.read_text()
    registered = [m["id"] for line in source.splitlines() if (m := REGISTRY_LINE.match(line))]
    assert registered == list(PROVIDERS)
    assert platform_ids_in(REGISTRY, set(PROVIDERS)) == []


# --- What settings derive from the registry -----------------------------------------------------


def test_a_platform_package_with_an_app_is_installed_and_its_settings_loaded(settings):
    # Registry order, each package once (Facebook and Instagram share meta's app).
    assert platform_packages_with("apps") == ["connections.providers.demo", "connections.providers.meta"]
    config = apps.get_containing_app_config(DemoPost.__module__)
    assert (config.label, config.name) == ("demo", "connections.providers.demo")
    assert DemoPost._meta.db_table == "connections_demopost"
    # The Demo network's conf.py, with the suite's defaults (instant, never failing at random).
    assert (settings.DEMO_LATENCY_MS, settings.DEMO_FAILURE_RATE, settings.DEMO_VIDEO_PROCESSING_SECONDS) == (0, 0, 0)


def test_platform_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_FAILURE_PERCENT", "25")
    monkeypatch.setenv("DEMO_NETWORK_ENABLED", "false")
    loaded = platform_settings(packages=platform_packages_with("conf"), testing=False, taken=set())
    demo = {key: value for key, value in loaded.items() if key.startswith("DEMO_")}
    assert demo == {
        "DEMO_NETWORK_ENABLED": False,
        "DEMO_LATENCY_MS": 400,
        "DEMO_FAILURE_RATE": 0.25,
        "DEMO_PAST_POSTS": 36,
        "DEMO_VIDEO_PROCESSING_SECONDS": 20,
    }
    # Facebook and Instagram share one package (meta): its settings are loaded once, not twice.
    assert platform_packages_with("conf").count("connections.providers.meta") == 1
    assert loaded["META_GRAPH_VERSION"] == "v25.0"
    monkeypatch.setenv("DEMO_LATENCY_MS", "slow")
    with pytest.raises(EnvError, match="DEMO_LATENCY_MS must be a whole number"):
        platform_settings(packages=["connections.providers.demo"], testing=False, taken=set())


@pytest.mark.parametrize("name", ["SECRET_KEY", "lower_case"])
def test_a_platform_cannot_replace_a_setting(tmp_path, monkeypatch, name):
    package = tmp_path / f"newnet_{name.lower()}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "conf.py").write_text(f"def settings_from_env(*, testing):\n    return {{{name!r}: 'mine'}}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    refused = f"{package.name}.conf may only add new upper-case settings, not '{name}'"
    with pytest.raises(ImproperlyConfigured, match=refused):
        platform_settings(packages=[package.name], testing=True, taken={"SECRET_KEY", "DEBUG"})


def test_instance_credentials_are_read_for_every_registered_platform(settings, monkeypatch):
    # The suite adds its example platform on top; every registered one is there from the environment.
    assert set(PROVIDERS) <= set(settings.PLATFORM_CREDENTIALS)
    assert env_prefix("my-net") == "MY_NET"
    monkeypatch.setenv("MY_NET_CLIENT_ID", "id-1")
    monkeypatch.setenv("MY_NET_CLIENT_SECRET_FILE", "/nonexistent")
    with pytest.raises(EnvError, match="MY_NET_CLIENT_SECRET_FILE: cannot read"):
        env_client_credentials("MY_NET")
    monkeypatch.setenv("MY_NET_CLIENT_SECRET", "")
    monkeypatch.delenv("MY_NET_CLIENT_SECRET_FILE")
    with pytest.raises(EnvError, match="MY_NET_CLIENT_ID and MY_NET_CLIENT_SECRET must be set together"):
        env_client_credentials("MY_NET")
    monkeypatch.setenv("MY_NET_CLIENT_SECRET", "s-1")
    assert env_client_credentials("MY_NET") == ("id-1", "s-1")


# --- The Demo network's model moved app, with its rows ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_demo_posts_survive_the_move_to_the_demo_app():
    executor = MigrationExecutor(connection)
    before = [("connections", "0005_oauth_app_plural"), ("demo", None)]
    executor.migrate(before)
    old = executor.loader.project_state(before[0]).apps.get_model("connections", "DemoPost")
    root = old.objects.create(account_external_id="ada", post_id="p-1", idempotency_key="k-1", text="Before")
    old.objects.create(account_external_id="ada", post_id="p-2", idempotency_key="k-2", text="Reply", parent=root)
    content_type = ContentType.objects.get(app_label="connections", model="demopost")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    reply = DemoPost.objects.select_related("parent").get(post_id="p-2")
    assert (reply.text, reply.parent.post_id, reply.parent.text) == ("Reply", "p-1", "Before")
    assert DemoPost.objects.count() == 2
    # The same content type row, relabelled: permissions and admin history keep pointing at it.
    assert ContentType.objects.get_for_model(DemoPost).pk == content_type.pk
    assert not ContentType.objects.filter(app_label="connections", model="demopost").exists()


def test_a_platform_package_with_urls_is_routed(tmp_path, monkeypatch):
    package = tmp_path / "urlnet_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "urls.py").write_text(
        "from django.http import HttpResponse\nfrom django.urls import path\n\n"
        'urlpatterns = [path("urlnet/<str:handle>/", lambda request, handle: HttpResponse(handle), name="urlnet")]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(PROVIDERS, "urlnet", ("Urlnet", "urlnet_pkg.provider.UrlnetProvider"))
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        assert resolve("/urlnet/ada/").url_name == "urlnet"
    finally:
        monkeypatch.undo()
        importlib.reload(config.urls)
        clear_url_caches()
    with pytest.raises(Resolver404):
        resolve("/urlnet/ada/")
