"""README.md, docs/ and results/README.md: the front door stays short, every relative
link resolves inside the repository, and every figure shown has its command beside it."""

import re

import pytest

from builders import ROOT

PAGES = sorted([ROOT / "README.md", ROOT / "results" / "README.md",
                *(ROOT / "docs").glob("*.md")])

LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"(?m)^#{1,6} (.*)$", text)}


def links(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [(m.group(1) == "!", m.group(3)) for m in LINK.finditer(text)]


def test_the_readme_is_a_front_door_of_at_most_300_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page):
    for _, target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_relative_to(ROOT), (page.name, target)
        assert resolved.exists(), (page.name, target)
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), (page.name, target)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_has_its_regenerating_command_in_its_section(page):
    sections = re.split(r"(?m)^#{1,6} ", page.read_text())
    for section in sections:
        figures = [target for image, target in links_in(section) if image]
        if figures:
            assert re.search(r"python (-m benchmarks\.|reproduce\.py|RDIA)", section), \
                (page.name, figures)


def links_in(text):
    return [(m.group(1) == "!", m.group(3)) for m in LINK.finditer(text)]


#: The sibling folder beside a checkout, which a clone elsewhere lacks (spelled in two
#: pieces so that this file does not name it).
OUTSIDE, OUTSIDE_DOCS = "../" + "shared", "shared" + "/docs"


def test_nothing_points_outside_the_repository():
    for path in [*ROOT.glob("*.py"), *ROOT.glob("*.md"), *ROOT.rglob("rdia/**/*.py"),
                 *ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py"), *PAGES]:
        text = path.read_text()
        assert OUTSIDE not in text and OUTSIDE_DOCS not in text, path


# ------------------------------------------- the commands and examples of the docs

#: Documented commands that are not run here, and why (every other one is run).
NOT_RUN = {
    "python -m pytest": "the test suite itself",
    "python RDIA-LS.py --dataset mnist --noise_rate 0.8 --gamma 0.2": "200 epochs",
    "python RDIA-LS.py --dataset mnist --noise_type symmetric --noise_rate 0.8 --seed 1":
        "200 epochs",
    "python RDIA-LS.py --dataset mnist --method coteaching --noise_rate 0.8 --n_epoch 50":
        "50 epochs, minutes",
    "python RDIA-LS.py --dataset cifar10 --noise_rate 0.8 --gpu 0 --output cifar.json":
        "CIFAR-10 and a GPU",
    "python RDIA-LS.py --dataset mnist --noise_rate 0.8 --method rdia-if --alpha 0":
        "200 epochs",
    "python RDIA-LS.py --dataset cifar10 --noise_rate 0.8 --method rdia-if --gpu 0":
        "CIFAR-10 and a GPU",
    "python RDIA.py --dataset mnist10 --noise 0.8 --noise-type pairflip": "minutes",
    "python RDIA.py --dataset path/to/multiclass.libsvm --model softmax": "a placeholder path",
    "python RDIA.py --dataset '/mnt/shards/part-*' --engine dask --scheduler tcp://HOST:8786":
        "a cluster of your own",
}

#: Benchmarks and reproduce.py subcommands are not run here: they take minutes or write
#: into results/ (their quick forms are tested in their own test files).
NOT_RUN_PREFIXES = ("python reproduce.py", "python -m benchmarks.")

#: Python blocks that are fragments of a reader's own program (X, labels undefined).
FRAGMENTS = ("harmful, suggested = find_harmful(X, labels",
             "clf = RDIAClassifier().fit(X, labels")

#: Pages whose commands need the files another page's first example writes.
SETUP = {"README.md": ("docs/own-data.md", 'to_csv("noisy.csv"')}


def shell_commands(page):
    """The shell commands of a page: indented ``python ...`` lines (continuations
    joined, comments dropped) and the lines of ```bash blocks."""
    text = re.sub(r"\\\n\s*", "", page.read_text())
    found = re.findall(r"(?m)^(?:    )((?:[A-Z_]+=\S+ )*python3? \S.*)$", text)
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S):
        found += [line for line in block.splitlines() if line.strip()]
    return [re.sub(r"\s+#.*$", "", command).strip() for command in found]


def python_blocks(page):
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def runs_here(command):
    command = re.sub(r"^(?:[A-Z_]+=\S+ )+", "", command)
    return command not in NOT_RUN and not command.startswith(NOT_RUN_PREFIXES)


def test_every_command_not_run_is_still_documented():
    documented = {c for page in PAGES for c in shell_commands(page)}
    assert set(NOT_RUN) <= documented


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_commands_and_examples_of_a_page_run_as_written(page, tmp_path, monkeypatch,
                                                            shared_data_dir):
    """Each page's Python blocks run in order in a fresh folder, then each of its
    shell commands (a minute at most each), as a reader would type them there."""
    import os
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    namespace = {}
    setup = SETUP.get(str(page.relative_to(ROOT)))
    blocks = python_blocks(page)
    if setup:
        blocks = [b for b in python_blocks(ROOT / setup[0]) if setup[1] in b] + blocks
    for block in blocks:
        if not any(fragment in block for fragment in FRAGMENTS):
            exec(compile(block, str(page), "exec"), namespace)
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    for command in filter(runs_here, shell_commands(page)):
        args = command.split()
        assert args[0] == "python", command
        script = ROOT / args[1] if args[1].endswith(".py") else None
        argv = [sys.executable, str(script), *args[2:]] if script else \
            [sys.executable, *args[1:]]
        argv = [a.strip("'") for a in argv]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (command, done.stderr[-1500:])
