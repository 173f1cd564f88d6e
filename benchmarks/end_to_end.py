"""RDIA.py end to end on MNIST 1 vs 7: whole processes, imports, stages, memory, passes.

Usage::

    RDIA_DATA_DIR=/path/to/datasets python -m benchmarks.end_to_end
    python -m benchmarks.end_to_end --repeat 7 --markdown results/end_to_end/table.md \\
        --output results/end_to_end/runs.json
    python -m benchmarks.end_to_end --repeat 7 --published /work/published/RDIA \\
        --published-python /work/published/venv/bin/python

It times the command ``python RDIA.py --dataset mnist --noise 0.8 --alpha 0.0002
--methods full,random,rdia --no-files`` (the three methods the published script runs)
and reports:

- **whole processes**: ``--repeat`` runs after one untimed warm-up run (which also
  builds the decoded-MNIST cache), their median and minimum wall seconds, and each
  child's peak resident memory (``ru_maxrss`` of ``os.wait4`` in a small launcher
  process, :data:`LAUNCHER`);
- **imports**: one run under ``python -X importtime``; the seconds of all imports (the
  sum of the top-level entries' cumulative times) and the modules that took longest;
- **stages** of one more run (``--output`` JSON of RDIA.py: load, fit, phi, each
  refit, evaluation), with the iterations and passes over the training X of each, and
  the time of one plain pass ``X @ v`` on the same data (so passes x one pass is the
  memory-bandwidth floor of a stage); the rest of that process (interpreter start,
  imports, printing) is its wall time minus the stages;
- with ``--published DIR --published-python PY``: the published code's RDIA.py on
  the same task, in the same loop, alternating which of the two runs first, so that
  each of the ``--repeat`` pairs is timed under the same load; the median of the
  per-pair ratios is reported.

Seconds mean something only on a quiet machine; module lists, counts and peak memory
do not depend on the load.

Setting up the published code (once, outside this repository; none of it is
committed here). Its ``RDIA.py`` imports numpy, scipy and scikit-learn only (no
torch), and reads MNIST from ``./data``; the one change points that at the shared
files::

    git clone https://github.com/Viperccc/RDIA /work/published/src
    cp -r /work/published/src/RDIA /work/published/RDIA
    python3 -m venv /work/published/venv
    /work/published/venv/bin/pip install "numpy<2" "scipy<1.12" "scikit-learn<1.4"
    sed -i 's|data_dir = "./data"|data_dir = "/path/to/datasets/mnist"|' \\
        /work/published/RDIA/dataset.py

The benchmark then runs, in ``/work/published/RDIA``,
``/work/published/venv/bin/python RDIA.py --dataset mnist --noise 0.8 --alpha 0.0002``
(its full fit, phi, RDIA and the random baseline on MNIST 1 vs 7, 9,088 training
rows, as ours). Without network access, the repository's files can be taken from a
mirror with ``git --git-dir=MIRROR show HEAD:RDIA/<file>``; the mirror may lack the
repository's own MNIST training images, which the ``sed`` line makes unnecessary.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import ROOT
from benchmarks.work import add_report_arguments, one_pass_seconds, write_report
from rdia.data.errors import DataError
from rdia.experiments.config import RunConfig
from rdia.experiments.pipeline import load_in_memory
from rdia.experiments.cli import ConfigError, OneLineParser, run_script


#: The task, in the flags both scripts take.
TASK = ("--dataset", "mnist", "--noise", "0.8", "--alpha", "0.0002")

#: The methods of our run: those the published script computes.
METHODS = "full,random,rdia"

#: Modules listed in the import table.
TOP_IMPORTS = 10


class RunFailed(RuntimeError):
    """A timed process exited with an error; the message has its last line."""


def parse_args(argv=None):
    parser = OneLineParser(prog="benchmarks.end_to_end",
                           description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7,
                        help="timed processes of each script (after one warm-up run)")
    parser.add_argument("--published", default=None, metavar="DIR",
                        help="folder of the published RDIA.py (see the module docstring) "
                             "(default: none; only this project's script is timed)")
    parser.add_argument("--published-python", default=None, metavar="PY",
                        help="the Python of the published code's environment (default: "
                             "this Python)")
    add_report_arguments(parser)
    opts = parser.parse_args(argv)
    if opts.repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {opts.repeat}")
    if (opts.published is None) != (opts.published_python is None):
        raise ConfigError("--published and --published-python go together")
    if opts.published and not (Path(opts.published) / "RDIA.py").is_file():
        raise ConfigError(f"--published {opts.published}: no RDIA.py in that folder")
    return opts


def our_command(extra=()):
    """``python RDIA.py`` on the task, writing no files (unless ``extra`` names one)."""
    return [sys.executable, str(ROOT / "RDIA.py"), *TASK, "--methods", METHODS,
            "--no-files", *extra]


def published_command(opts):
    """The published script on the task, and the folder it must run in."""
    return [opts.published_python, "RDIA.py", *TASK], opts.published


def child_environment(opts):
    """The environment of the children, with ``--data-dir`` as RDIA_DATA_DIR."""
    env = dict(os.environ)
    if opts.data_dir:
        env["RDIA_DATA_DIR"] = opts.data_dir
    return env


#: Runs ``argv[2:]`` as a child of this small process and writes its wall seconds,
#: exit status and peak memory to the file ``argv[1]``. Linux carries a process's
#: peak RSS across exec from the memory it was spawned with, so a child spawned
#: directly by a large process (a test run, say) would report that process's peak;
#: spawned by this launcher, it reports its own (plus the launcher's few MB).
LAUNCHER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as report:
    json.dump(dict(seconds=seconds, status=os.waitstatus_to_exitcode(status),
                   peak_rss_kib=usage.ru_maxrss), report)
"""


def run_process(command, cwd, env):
    """Run one process to its end through LAUNCHER; its wall seconds, peak memory and
    output.

    Returns
    -------
    run : dict
        ``seconds`` (wall, from its start to its end), ``peak_rss_mb`` (its
        ``ru_maxrss``, MiB) and ``stdout`` / ``stderr`` (text).

    Raises
    ------
    RunFailed
        When the process exits with a status other than 0.
    """
    with tempfile.TemporaryDirectory() as folder:
        report, out, err = (Path(folder) / name for name in ("run.json", "out", "err"))
        with out.open("wb") as stdout, err.open("wb") as stderr:
            subprocess.run([sys.executable, "-c", LAUNCHER, str(report), *command],
                           cwd=cwd, env=env, stdout=stdout, stderr=stderr, check=False)
        measured = json.loads(report.read_text()) if report.is_file() else {"status": -1}
        stdout = out.read_text(errors="replace")
        stderr = err.read_text(errors="replace")
    if measured["status"] != 0:
        last = (stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RunFailed(f"{' '.join(command)} exited with {measured['status']}: {last}")
    return dict(seconds=measured["seconds"], peak_rss_mb=measured["peak_rss_kib"] / 1024,
                stdout=stdout, stderr=stderr)


def timed_processes(opts):
    """``--repeat`` timed runs of ours (and of the published script, alternating which
    goes first in each pair), after one untimed warm-up run of each.

    Returns
    -------
    runs : dict
        ``ours`` and, with ``--published``, ``published``: lists of :func:`run_process`
        results without their output, in order.
    """
    env = child_environment(opts)
    commands = {"ours": (our_command(), str(ROOT))}
    if opts.published:
        commands["published"] = published_command(opts)
    for command, cwd in commands.values():
        run_process(command, cwd, env)  # warm-up: file caches, the decoded MNIST cache
    runs = {name: [] for name in commands}
    for i in range(opts.repeat):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for name in order:
            run = run_process(*commands[name], env)
            runs[name].append(dict(seconds=run["seconds"], peak_rss_mb=run["peak_rss_mb"]))
        print(f"repeat {i + 1} of {opts.repeat}: " + ", ".join(
            f"{name} {runs[name][-1]['seconds']:.2f}s" for name in commands),
            file=sys.stderr, flush=True)
    return runs


def import_times(stderr):
    """The ``-X importtime`` lines of a process: (module, self us, cumulative us, depth).

    Depth 0 is a module imported by the script or by a function of it (not by another
    module during its own import).
    """
    rows = []
    for match in re.finditer(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$", stderr,
                             flags=re.M):
        rows.append((match.group(4), int(match.group(1)), int(match.group(2)),
                     (len(match.group(3)) - 1) // 2))
    return rows


def import_profile(opts):
    """One run under ``python -X importtime``: the seconds of all imports, their share
    of the process, the top-level modules that took longest and how many modules the
    run imported."""
    env = child_environment(opts)
    command = our_command()
    run = run_process([command[0], "-X", "importtime", *command[1:]], str(ROOT), env)
    rows = import_times(run["stderr"])
    top = sorted((r for r in rows if r[3] == 0), key=lambda r: -r[2])
    total = sum(r[2] for r in top) / 1e6
    return dict(seconds=total, process_seconds=run["seconds"],
                share=total / run["seconds"], modules=len(rows),
                top=[dict(module=m, cumulative_s=c / 1e6) for m, _, c, _ in
                     top[:TOP_IMPORTS]])


def stage_record(opts):
    """One more run of the task with its JSON: the record (timings and work) and the
    wall seconds of that whole process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.json"
        run = run_process(our_command(("--output", str(path))), str(ROOT),
                          child_environment(opts))
        return json.loads(path.read_text()), run["seconds"]


def pass_seconds(opts):
    """Seconds of one plain pass X @ v over the task's training X (loaded here)."""
    part, _, _ = load_in_memory(RunConfig(dataset="mnist", noise=0.8, alpha=0.0002,
                                          data_dir=opts.data_dir))
    return one_pass_seconds(part.X_train, repeat=max(opts.repeat, 5)), part.X_train.shape


def stage_rows(record, one_pass, process_seconds):
    """Rows (stage, seconds, iterations, passes, floor seconds) of one run's record;
    the last is the rest of that run's ``process_seconds`` (start, imports, printing)."""
    timings, work = record["timings"], record["work"]
    rows = [dict(stage="load", seconds=timings["load"]),
            dict(stage="fit", seconds=timings["fit"], **work["fit"]),
            dict(stage="phi", seconds=timings["influence"], **work["phi"])]
    for method, seconds in timings["refits"].items():
        rows.append(dict(stage=f"refit {method}", seconds=seconds, **work["refits"][method]))
    rows.append(dict(stage="evaluation (val and test)", seconds=timings["evaluation"]))
    inside = (timings["load"] + timings["fit"] + timings["influence"]
              + timings.get("repair", 0.0) + timings["methods"])
    rows.append(dict(stage="rest of the process (start, imports, printing)",
                     seconds=process_seconds - inside))
    for row in rows:
        passes = row.get("passes")
        row["floor_seconds"] = None if passes is None else passes * one_pass
    return rows


def summary(values):
    """Median and minimum of a list of numbers."""
    return statistics.median(values), min(values)


def format_report(runs, imports, stages, one_pass, shape):
    """The printed report: processes, imports and stages, as markdown."""
    lines = ["| script | processes | median s | min s | peak RSS MB (max) |",
             "|---|---|---|---|---|"]
    for name, items in runs.items():
        median, least = summary([r["seconds"] for r in items])
        peak = max(r["peak_rss_mb"] for r in items)
        lines.append(f"| {name} | {len(items)} | {median:.2f} | {least:.2f} | {peak:.0f} |")
    if "published" in runs:
        ratios = [p["seconds"] / o["seconds"] for o, p in zip(runs["ours"],
                                                              runs["published"])]
        lines += ["", f"Published / ours, median of {len(ratios)} paired runs: "
                      f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max "
                      f"{max(ratios):.2f})."]
    lines += ["", f"Imports: {imports['seconds']:.2f} s of a {imports['process_seconds']:.2f}"
                  f" s process under -X importtime ({imports['share']:.0%}), "
                  f"{imports['modules']} modules.", "",
              "| module (imported by the run) | cumulative s |", "|---|---|"]
    lines += [f"| {t['module']} | {t['cumulative_s']:.3f} |" for t in imports["top"]]
    lines += ["", f"One pass X @ v over the training X ({shape[0]:,} x {shape[1]:,}, "
                  f"dense): {one_pass * 1e3:.2f} ms.", "",
              "| stage | seconds | learner or solver | iterations | passes over X | "
              "passes x one pass (s) |", "|---|---|---|---|---|---|"]
    for row in stages:
        passes = "-" if row.get("passes") is None else str(row["passes"])
        floor = "-" if row["floor_seconds"] is None else f"{row['floor_seconds']:.3f}"
        who = row.get("learner") or row.get("solver") or "-"
        if row.get("preconditioner"):
            who += f" ({row['preconditioner']})"
        iterations = row.get("iterations", "-")
        lines.append(f"| {row['stage']} | {row['seconds']:.3f} | {who} | {iterations} | "
                     f"{passes} | {floor} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    opts = parse_args(argv)
    runs = timed_processes(opts)
    imports = import_profile(opts)
    record, process_seconds = stage_record(opts)
    one_pass, shape = pass_seconds(opts)
    stages = stage_rows(record, one_pass, process_seconds)
    text = format_report(runs, imports, stages, one_pass, shape)
    write_report(opts, text, dict(settings=vars(opts), command=our_command(), runs=runs,
                                  imports=imports, stages=stages, one_pass_seconds=one_pass,
                                  run_record=record, stage_process_seconds=process_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(run_script("benchmarks.end_to_end", main, (ConfigError, DataError, RunFailed)))
