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


def test_nothing_points_outside_the_repository():
    for path in [*ROOT.glob("*.py"), *ROOT.glob("*.md"), *ROOT.rglob("rdia/**/*.py"),
                 *ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py"), *PAGES]:
        if path.name == "test_docs.py":
            continue
        text = path.read_text()
        assert "../shared" not in text and "shared/docs" not in text, path
