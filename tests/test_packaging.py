"""Reproducible installs: every import declared, one uv version, and the API's error shape kept
without reaching into flask-smorest's private methods."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from flask import abort
from werkzeug.exceptions import default_exceptions

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"eventtrack", "tests", "bench", "wsgi"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group())


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> set[str]:
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_requirement_name(r) for r in requirements}


def _imported_modules() -> dict[str, str]:
    """Top-level module name -> the first file that imports it (absolute imports only)."""
    files = [p for d in ("eventtrack", "tests", "bench") for p in sorted((ROOT / d).rglob("*.py"))]
    found: dict[str, str] = {}
    for path in [*files, ROOT / "wsgi.py"]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared_in_pyproject():
    declared = _declared()
    distributions = packages_distributions()
    undeclared = []
    for module, where in sorted(_imported_modules().items()):
        if module in sys.stdlib_module_names or module in FIRST_PARTY:
            continue
        providers = {_normalise(d) for d in distributions.get(module, [])}
        if not providers & declared:
            undeclared.append(f"{module} ({where}; installed by {sorted(providers) or 'nothing'})")
    assert not undeclared, "imported but not declared in pyproject.toml: " + ", ".join(undeclared)


def test_bootstrapped_uv_is_the_locked_uv():
    makefile = (ROOT / "Makefile").read_text()
    bootstrapped = re.search(r"^UV_VERSION := (\S+)$", makefile, re.M).group(1)
    assert _pyproject()["dependency-groups"]["dev"] == [f"uv=={bootstrapped}"]
    locked = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    assert [p["version"] for p in locked if p["name"] == "uv"] == [bootstrapped]


def test_ruff_is_pinned_exactly():
    test_extra = _pyproject()["project"]["optional-dependencies"]["test"]
    assert [r for r in test_extra if _requirement_name(r) == "ruff"][0].startswith("ruff==")


ERROR_STATUSES = sorted(code for code in default_exceptions if code >= 400)


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_every_error_status_under_api_answers_our_shape(app, status):
    # flask-smorest registers its own HTTPException handler; ours must be the one that answers.
    app.add_url_rule(f"/api/v1/_abort/{status}", f"abort_{status}", lambda: abort(status))
    response = app.test_client().get(f"/api/v1/_abort/{status}")
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
