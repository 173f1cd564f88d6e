"""README.md and the pages behind it (docs/, results/README.md): their examples run as
written and print what they show, and the README's result tables are the recorded
benchmarks'."""

import json
import re
import subprocess
import sys

import numpy as np

from builders import ROOT

README = ROOT / "README.md"

#: The README and the pages behind it, whose examples are run here.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "results" / "README.md"]


def all_text():
    return "\n".join(page.read_text() for page in PAGES)


def fenced_blocks(language):
    """The ```language blocks of the README and its pages, in order."""
    return re.findall(rf"```{language}\n(.*?)```", all_text(), flags=re.S)


def block_with(text, language="python"):
    """The one ```language block that contains ``text``."""
    found = [block for block in fenced_blocks(language) if text in block]
    assert len(found) == 1, f"{len(found)} blocks contain {text!r}"
    return found[0]


def shown_after(block):
    """The lines of the plain ``` block that follows ``block`` in its page."""
    text = all_text()
    rest = text[text.index(block) + len(block) + len("```"):]  # past its own fence
    return re.search(r"```\n(.*?)```", rest, flags=re.S).group(1).splitlines()


def test_readme_commands_are_the_documented_ones():
    text = README.read_text()
    assert "    pip install -r requirement.txt\n" in text
    assert "    python RDIA.py --dataset cancer --noise 0.8 --alpha 0.0002\n" in text
    assert "    python -m pytest\n" in text


def test_library_example_runs_and_lowers_validation_loss(capsys):
    namespace = {}
    exec(compile(block_with("influence.influence("), str(README), "exec"), namespace)
    from rdia.models import logreg
    before = logreg.sample_losses(namespace["w"], namespace["X_val"], namespace["y_val"]).mean()
    after = logreg.sample_losses(namespace["w_rdia"], namespace["X_val"],
                                 namespace["y_val"]).mean()
    assert namespace["harmful"].sum() > 0
    assert after < before
    assert "relabeled" in capsys.readouterr().out


def test_your_own_data_examples_run_offline_and_print_what_they_show(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block_with('to_csv("noisy.csv"'), str(README), "exec"), namespace)
    assert {p.name for p in tmp_path.iterdir()} == {"noisy.csv", "trusted.csv", "test.csv"}

    (command,) = block_with("--train noisy.csv", "bash").strip().splitlines()
    args = command.split()
    assert args[:2] == ["python", "RDIA.py"]
    done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), *args[2:]],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stdout.splitlines()
               if not line.startswith(("time:", "wrote "))]
    assert printed == shown_after(block_with("--train noisy.csv", "bash"))
    assert (tmp_path / "suspects.csv").is_file()

    one_call = block_with("rdia.find_harmful(")
    exec(compile(one_call, str(README), "exec"), namespace)
    line = capsys.readouterr().out.strip()
    assert f"prints `{line}`" in " ".join(all_text().split())

    pipeline = block_with("rdiaclassifier__val_mask")
    exec(compile(pipeline, str(README), "exec"), namespace)
    assert capsys.readouterr().out.splitlines() == shown_after(pipeline)


def test_shards_example_writes_shards_that_rdia_reads(tmp_path, monkeypatch):
    """As a user runs it: in an empty folder, with or without $RDIA_DATA_DIR."""
    monkeypatch.chdir(tmp_path)
    exec(compile(block_with("write_shards("), str(README), "exec"), {})
    assert sorted(p.name for p in (tmp_path / "cancer-shards").iterdir()) == \
        [f"part-{k:05d}" for k in range(5)]
    shown = "    python RDIA.py --dataset cancer-shards --test-file cancer-test --noise 0.4"
    assert shown + " --engine dask --workers 2\n" in all_text()
    done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), "--dataset",
                           "cancer-shards", "--test-file", "cancer-test", "--noise", "0.4",
                           "--no-files"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "data cancer-shards: train 350, val 150, test 183, features 10" in done.stdout


def rdia_ls_flag_rows():
    """{flag: (default, meaning)} of the RDIA-LS flag table (the one with --noise_rate)."""
    rows = {}
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for table in re.findall(r"(?:^\|.*\|\n)+", path.read_text(), flags=re.M):
            if "| `--noise_rate` |" in table:
                for flag, default, meaning in re.findall(
                        r"^\| `(--\w+)[^`]*` \| ([^|]*) \| (.*) \|$", table, flags=re.M):
                    rows[flag] = (default.strip().strip("`"), meaning)
    return rows


def test_rdia_ls_flag_table_gives_the_code_defaults():
    """Each default of the RDIA-LS flag table is the parser's, and the data folder the
    table names is the one the code reads (datasets/, not data/)."""
    from importlib.util import module_from_spec, spec_from_file_location

    from rdia.data.paths import DEFAULT_DATA_DIR

    spec = spec_from_file_location("rdia_ls_script", ROOT / "RDIA-LS.py")
    script = module_from_spec(spec)
    spec.loader.exec_module(script)
    defaults = {action.option_strings[0]: action.default
                for action in script.build_parser()._actions if action.option_strings}
    rows = rdia_ls_flag_rows()
    assert len(rows) > 20
    compared = 0
    for flag, (shown, _) in rows.items():
        value = defaults[flag]
        first = shown.split(",")[0]
        if isinstance(value, str):
            assert first == value, flag
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(first) == value, flag
        else:
            continue
        compared += 1
    assert compared >= 10
    lookup = rows["--dataset"][1]
    assert f"else `{DEFAULT_DATA_DIR.name}/`" in lookup, lookup


def markdown_rows(text, first_cell):
    """The cells of the markdown table rows of ``text`` that start with ``first_cell``."""
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {first_cell}")]


def test_the_readmes_cleanlab_table_is_the_recorded_benchmark():
    """The README's label-repair table gives the means of results/label_repair's runs
    (scikit-learn's learner), so a rerun of the benchmark cannot leave it stale."""
    runs = json.loads((ROOT / "results" / "label_repair" / "results.json").read_text())["runs"]
    section = README.read_text().split("## Against cleanlab")[1].split("\n## ")[0]
    methods = ["noisy", "rdia", "cleanlab", "cleanlab+trusted"]

    def mean(key, **match):
        return np.mean([key(r) for r in runs if all(r[k] == v for k, v in match.items())])

    rows = markdown_rows(section, "0.")
    assert [float(row[0]) for row in rows] == [0.1, 0.2, 0.3, 0.4]
    for row in rows:
        shown = [float(cell) for cell in row[1:]]
        recorded = [mean(lambda r: r["test"]["sklearn"]["accuracy"], noise=float(row[0]),
                         method=m) for m in methods]
        np.testing.assert_allclose(shown, recorded, atol=5e-5)
    (f1,) = markdown_rows(section, "mean F1")
    np.testing.assert_allclose([float(cell) for cell in f1[2:]],
                               [mean(lambda r: r["f1"], method=m) for m in methods[1:]],
                               atol=5e-4)


def test_the_readmes_dask_table_is_the_recorded_benchmark():
    """The README's Dask rows are those of results/dask_scale's table for the same
    stage: seconds and passes of each engine, Dask's round trips, and the ratio."""
    recorded = (ROOT / "results" / "dask_scale" / "dask_scale-277000.md").read_text()
    criteo = recorded.split("K-class row")[0]  # the first table; the K-class one follows
    by_stage = {(row[0], row[1]): row[2:] for row in markdown_rows(criteo, "")
                if row[0] in ("memory", "dask")}
    section = README.read_text().split("## On Dask")[1].split("\n## ")[0]
    rows = markdown_rows(section, "")[1:]  # past the header
    assert [row[0].split()[0] for row in rows] == ["fit", "influence", "refit"]
    for stage, memory_s, dask_s, passes, trips in rows:
        stage = stage.split()[0]
        memory, dask = by_stage["memory", stage], by_stage["dask", stage]
        assert [memory_s, dask_s] == [memory[0], dask[0]]
        assert passes == f"{memory[1]} / {dask[1]}" and trips == dask[2]
    ratio = re.search(r"memory [\d.]+ s, dask [\d.]+ s \(([\d.]+)x\)", recorded).group(1)
    assert f"{ratio} times the in-memory time" in " ".join(section.split())
