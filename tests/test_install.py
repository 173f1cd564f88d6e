"""Installing the project as the README says, and using it from a user's own folder."""

import os
import re
import subprocess
import venv
from pathlib import Path

import pytest

from builders import ROOT


#: A user's script: the one call and the estimator on scikit-learn's bundled data.
USER_SCRIPT = """
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
import rdia
from rdia import RDIAClassifier, find_harmful

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
rng = np.random.default_rng(0)
noisy = y.copy()
flipped = rng.choice(400, 80, replace=False)
noisy[flipped] = 1 - noisy[flipped]
harmful = find_harmful(X[:400], noisy[:400], X[400:], y[400:])
clf = RDIAClassifier().fit(X[:400], noisy[:400], X_val=X[400:], y_val=y[400:])
assert (clf.harmful_ == harmful).all()
print(rdia.__file__)
print(int(harmful.sum()), int(harmful[flipped].sum()))
"""


def readme_install_command():
    """The install command of the README's Install section (a line of a code block)."""
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(pip install [^\n]+)$", text, flags=re.M)
    assert commands, "the README shows no pip install command"
    return commands[0].strip()


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    """A folder outside the clone whose own data.py and models.py would shadow
    generic module names of the project."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "data.py").write_text("raise ImportError('the user data.py was imported')\n")
    (folder / "models.py").write_text("raise ImportError('the user models.py was imported')\n")
    (folder / "use_rdia.py").write_text(USER_SCRIPT)
    return folder


def test_the_readme_install_command_makes_rdia_importable_from_any_folder(
        tmp_path_factory, user_folder):
    env_dir = tmp_path_factory.mktemp("venv")
    # The machine's packages are visible to the new environment, so the install only
    # adds the project itself (the pinned versions are already there).
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    command = readme_install_command().split()
    assert command[:2] == ["pip", "install"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run([str(python), "-m", *command, "-q"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    done = subprocess.run([str(python), "use_rdia.py"], cwd=user_folder, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    module_file, counts = done.stdout.strip().splitlines()[-2:]
    assert Path(module_file).resolve().is_relative_to(ROOT)
    n_harmful, n_hits = map(int, counts.split())
    assert 0 < n_hits <= n_harmful


def test_no_generic_name_is_installed_at_the_top_level():
    """Only the package rdia is installed: no data, models or experiments at the top."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert all(pattern == "rdia" or pattern.startswith("rdia.") for pattern in include)
    assert not (ROOT / "data").exists() and not (ROOT / "models").exists()


def package_imports(package=ROOT / "rdia"):
    """{module: modules of the package it imports}, at the top or inside a function.

    ``from rdia import x`` names the module ``rdia.x`` where there is one, else the
    package ``rdia``; relative imports are resolved against the importing module.
    """
    import ast

    def module_name(path):
        parts = path.relative_to(package.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def exists(name):
        path = package.parent.joinpath(*name.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    graph = {}
    for path in package.rglob("*.py"):
        name, edges = module_name(path), set()
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    anchor = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                    source = f"{anchor}.{source}".rstrip(".")
                for alias in node.names:
                    edges.add(f"{source}.{alias.name}" if exists(f"{source}.{alias.name}")
                              else source)
        graph[name] = {e for e in edges if e.split(".")[0] == "rdia" and e != name}
    return graph


def import_cycle(graph):
    """One cycle of the graph as a list of modules, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, trail + [nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_package_has_no_import_cycle_deferred_or_not():
    graph = package_imports()
    assert {"rdia.estimator", "rdia.experiments.pipeline", "rdia.data.shards"} <= set(graph)
    assert "rdia.repair" in graph["rdia.estimator"]
    assert import_cycle(graph) is None, " -> ".join(import_cycle(graph))


def test_the_cycle_finder_finds_a_deferred_cycle():
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b"}, "b": set()}) is None
