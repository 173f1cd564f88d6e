"""One run queue and one reuse rule for every benchmark and ``reproduce.py``.

The reuse rule (:func:`saved_result`): a run's JSON is reused when it exists and
holds the settings asked for; the deep runs add that every epoch is there, with the
per-epoch columns the caller needs (:func:`load_finished`). Logistic-regression
benchmarks apply the same rule to their own JSONs.

The queue (:func:`run_queue`) trains the unfinished deep runs of a list, at most
``jobs`` at a time, each as its own ``RDIA-LS.py`` process with one torch thread
and a log file; a run that was interrupted leaves no JSON and is trained again from
its start, so the same command resumes a stopped queue. :func:`run_or_reuse` is the
same rule for one run in this process.

The summaries of finished runs: :func:`last10` (the mean of a per-epoch column over
the last 10 epochs) and :func:`spread` (mean ± sample std over runs). A value is
missing when the column is absent from an epoch or None there (e.g. ``val_acc`` in
runs from before the validation split, or the harmful set of ``rdia-if`` before its
warm-up ends): :func:`last10` is then None, and :func:`spread` leaves that run out
and says how many runs it summarises.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rdia.experiments.cli import DefaultsFormatter, OneLineParser, printable
from rdia.experiments.deep import PAPER_SETTING, format_setting, result_settings, run, run_name
from rdia.experiments.report import format_mean_std

#: The repository (parent of the ``rdia`` package).
ROOT = Path(__file__).resolve().parents[2]

#: The training script each queued run is a process of.
SCRIPT = ROOT / "RDIA-LS.py"

#: Seconds between two looks at the running processes.
POLL_SECONDS = 5.0


# ----------------------------------------------------------------------------
# The reuse rule


def saved_result(path, settings, section="config"):
    """The JSON at ``path`` when it holds ``settings``, else None.

    Parameters
    ----------
    path : path-like or None
    settings : dict
        Every key must have an equal value in the saved settings (a setting the
        JSON lacks counts as None, its value in runs from before it existed).
    section : str or None, default="config"
        Key of the saved settings in the JSON (None: its top level).

    Returns
    -------
    result : dict or None
    """
    if path is None or not Path(path).is_file():
        return None
    saved = read_saved(path)
    if saved is None:
        return None
    held = saved if section is None else saved.get(section, {})
    same = all(held.get(key) == value for key, value in settings.items())
    return saved if same else None


def read_saved(path):
    """The JSON object at ``path``, or None (with a line naming it) when it does not
    parse as one: a run killed while writing it, or another file."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"{path} does not parse as a run's JSON ({printable(exc)}); not reused",
              flush=True)
        return None
    return saved if isinstance(saved, dict) else None


def load_finished(config, columns=()):
    """The saved result of a finished deep run of ``config``, or None.

    Parameters
    ----------
    config : experiments.deep.LSConfig
        With ``output`` set: the JSON looked for.
    columns : sequence of str, default=()
        Per-epoch values the run must hold (e.g. ``("val_acc",)``, which runs from
        before the validation split lack).

    Returns
    -------
    result : dict or None
        The JSON at ``output`` when its settings that change the numbers
        (:func:`experiments.deep.result_settings`) equal those of ``config``, it holds
        all ``n_epoch`` epochs and every epoch has ``columns``; else None.
    """
    previous = saved_result(config.output, result_settings(config))
    if previous is None:
        return None
    complete = len(previous["epochs"]) == config.n_epoch and all(
        column in row for row in previous["epochs"] for column in columns)
    return previous if complete else None


def pending(configs, columns=()):
    """The configs whose run is not finished (:func:`load_finished`), in order."""
    return [c for c in configs if load_finished(c, columns=columns) is None]


def run_or_reuse(config, reuse=True):
    """Train one run in this process, or load its JSON when ``reuse`` and it is finished.

    Parameters
    ----------
    config : experiments.deep.LSConfig
        With ``output`` set: the JSON looked for, and written by a new run.
    reuse : bool, default=True

    Returns
    -------
    result : dict
        As :func:`experiments.deep.run` returns it.
    """
    previous = load_finished(config) if reuse else None
    if previous is not None:
        print(f"reusing {config.output}")
        return previous
    broken = config.output is not None and Path(config.output).is_file() \
        and read_saved(config.output) is None
    if broken:  # a broken JSON of this very run's name: trained again, replaced
        return run(config, overwrite=True)
    return run(config)


# ----------------------------------------------------------------------------
# The queue


def config_argv(config):
    """Command-line flags of ``RDIA-LS.py`` that give back ``config``.

    Every setting that is not None becomes ``--<name> <value>``; ``progress=False``
    becomes ``--no_progress``.
    """
    argv = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.name == "progress":
            argv += [] if value else ["--no_progress"]
        elif value is not None:
            argv += [f"--{field.name}", format_setting(value)]
    return argv


def start_run(config, log_dir, script=SCRIPT):
    """Start one run as a process with one thread; its output goes to a log file.

    Returns
    -------
    process : subprocess.Popen
    log_path : pathlib.Path
    """
    log_path = Path(log_dir) / f"{run_name(config)}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, str(script), *config_argv(config)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    return process, log_path


def run_queue(configs, jobs, log_dir, on_finish=None, script=SCRIPT, poll=POLL_SECONDS,
              columns=(), reuse=True):
    """Train the unfinished runs of ``configs``, at most ``jobs`` processes at a time.

    Parameters
    ----------
    configs : sequence of experiments.deep.LSConfig
        In the order to start them, each with ``output`` set.
    jobs : int >= 1
    log_dir : path-like
        Folder of one log per run.
    on_finish : callable, optional
        Called with no argument after each run ends (e.g. to rewrite the tables).
    script : path-like
        The training script (``RDIA-LS.py``).
    poll : float
        Seconds between two looks at the processes.
    columns : sequence of str, default=()
        Per-epoch columns a run must have to count as finished.
    reuse : bool, default=True
        Skip the finished runs; False trains every run again.

    Returns
    -------
    failed : list of str
        Names of the runs whose process exited with a non-zero status.
    """
    queue = pending(configs, columns) if reuse else list(configs)
    print(f"{len(configs) - len(queue)} of {len(configs)} runs finished; "
          f"{len(queue)} to train, {jobs} at a time", flush=True)
    running, failed = [], []
    while queue or running:
        while queue and len(running) < jobs:
            config = queue.pop(0)
            process, log_path = start_run(config, log_dir, script)
            print(f"started {run_name(config)} (pid {process.pid}, log {log_path})",
                  flush=True)
            running.append((config, process))
        time.sleep(poll)
        for config, process in [item for item in running if item[1].poll() is not None]:
            running.remove((config, process))
            name = run_name(config)
            if process.returncode != 0:
                failed.append(name)
            print(f"{'finished' if process.returncode == 0 else 'FAILED'} {name} "
                  f"(exit {process.returncode}); {len(queue)} queued, "
                  f"{len(running)} running", flush=True)
            if on_finish is not None:
                on_finish()
    return failed


# ----------------------------------------------------------------------------
# Queued runs of the MNIST benchmarks: candidates, configs, finished runs, flags


def candidate_label(candidate):
    """``<loss>, gamma <g>`` of a (loss, gamma) candidate, or the name of a baseline."""
    if isinstance(candidate, str):
        return candidate
    loss, gamma = candidate
    return f"{loss}, gamma {format_setting(gamma)}"




def run_config(candidate, seed, epochs, runs_dir, data_dir=None, noise=None, settings=None):
    """The LSConfig of one run: a (loss, gamma) candidate or a baseline method name.

    Parameters
    ----------
    candidate : (str, float) or str
        (loss, gamma) of RDIA-LS, or a method name ("ce", "coteaching", "rdia-if").
    seed : int
    epochs : int
    runs_dir : path-like
        Folder of the run's files; ``output`` is ``<runs_dir>/<run name>.json``.
    data_dir : path-like, optional
    noise : (str, float), optional
        (noise type, noise rate), e.g. ("pairflip", 0.45); default the paper's
        ("symmetric", 0.8). The forget rate follows the noise rate.
    settings : dict, optional
        Further ``LSConfig`` fields, e.g. ``{"alpha": 0.002}`` for ``rdia-if``.

    Returns
    -------
    config : experiments.deep.LSConfig
        One torch thread, no progress bar.
    """
    if isinstance(candidate, str):
        changes = {"method": candidate}
    else:
        changes = {"method": "rdia-ls", "loss": candidate[0], "gamma": candidate[1]}
    if noise is not None:
        changes.update(noise_type=noise[0], noise_rate=noise[1])
    changes.update(settings or {})
    config = dataclasses.replace(PAPER_SETTING, **changes, seed=seed, n_epoch=epochs,
                                 threads=1, progress=False, data_dir=data_dir,
                                 result_dir=str(runs_dir))
    return dataclasses.replace(config, output=str(Path(runs_dir) / f"{run_name(config)}.json"))




def collect(candidates, seeds, epochs, runs_dir, noise=None, configure=None, columns=()):
    """The finished runs of each candidate, and the names of the missing ones.

    ``noise`` is (noise type, rate) as in :func:`run_config` (default the paper's).

    Parameters
    ----------
    configure : callable, optional
        ``configure(candidate, seed)`` -> the run's LSConfig; default
        :func:`run_config` with ``epochs``, ``runs_dir`` and ``noise``.
    columns : sequence of str, default=()
        Per-epoch columns a run must have to count as finished.

    Returns
    -------
    runs : dict
        candidate -> {seed: result dict} of the finished runs.
    missing : list of str
        Run names without a finished JSON.
    """
    if configure is None:
        configure = lambda candidate, seed: run_config(candidate, seed, epochs, runs_dir,
                                                       noise=noise)
    runs, missing = {}, []
    for candidate in candidates:
        runs[candidate] = {}
        for seed in seeds:
            config = configure(candidate, seed)
            result = load_finished(config, columns=columns)
            if result is None:
                missing.append(run_name(config))
            else:
                runs[candidate][seed] = result
    return runs, missing




def queue_parser(prog, doc, out, log_dir):
    """A parser with the flags every RDIA-LS training queue shares.

    Parameters
    ----------
    prog : str
        The benchmark's name in usage and error lines.
    doc : str
        Its module docstring; the first line is the description.
    out, log_dir : str
        Default folders of the tables (under ``results/``) and of the logs (under
        ``runs/``, ignored by git).

    Returns
    -------
    parser : experiments.cli.OneLineParser
        With ``--seeds``, ``--epochs``, ``--jobs``, ``--runs-dir``, ``--out``,
        ``--log-dir``, ``--data_dir`` and ``--no-train`` (``train``).
    """
    p = OneLineParser(prog=prog, description=doc.split("\n")[0],
                      formatter_class=DefaultsFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds per candidate")
    p.add_argument("--epochs", type=int, default=200, help="epochs per run")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once, one thread each")
    p.add_argument("--runs-dir", default=str(ROOT / "results" / "rdia_ls_mnist" / "runs"),
                   help="folder of the runs, shared by the RDIA-LS benchmarks "
                        "(default: results/rdia_ls_mnist/runs)")
    p.add_argument("--out", default=str(ROOT / "results" / out),
                   help=f"folder of the tables and figures (default: results/{out})")
    p.add_argument("--log-dir", default=str(ROOT / "runs" / log_dir),
                   help=f"folder of one log per run (default: runs/{log_dir}, ignored by git)")
    p.add_argument("--data_dir", default=None,
                   help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    p.add_argument("--no-train", dest="train", action="store_false",
                   help="only write the tables and figures from the finished runs")
    return p




def report_and_exit(prog, report, failed):
    """Print a queue's tables and its failed runs; the exit status (1 if any failed)."""
    print(report)
    if failed:
        print(f"{prog}: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------
# Summaries of finished runs


def last10(result, column):
    """Mean of a per-epoch column over the last 10 epochs of a run.

    Returns
    -------
    mean : float or None
        None when any of those epochs lacks the column or holds None there.
    """
    values = [row.get(column) for row in result["epochs"][-10:]]
    return None if any(v is None for v in values) else float(np.mean(values))


def spread(results, column, digits=2):
    """``mean ± std`` (sample std) over runs of a column's :func:`last10`.

    Runs whose :func:`last10` is None are left out.

    Returns
    -------
    text : str
        "-" when no run has the column.
    count : int
        Runs summarised.
    """
    values = [v for v in (last10(r, column) for r in results) if v is not None]
    return (format_mean_std(values, digits) if values else "-"), len(values)


__all__ = ["POLL_SECONDS", "ROOT", "SCRIPT", "candidate_label", "collect", "config_argv",
           "last10", "load_finished", "pending", "queue_parser", "report_and_exit",
           "run_config", "run_or_reuse", "run_queue", "saved_result", "spread", "start_run"]
