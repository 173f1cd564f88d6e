"""The Dask engine against the in-memory engine on a Criteo-1%-shaped problem.

Usage::

    python -m benchmarks.dask_scale                        # 277,000 x 1,000,000, 8 shards
    python -m benchmarks.dask_scale --rows 20000 --features 100000 --output-dir /tmp/ds

Data: a seeded synthetic click log shaped like 1% of Criteo's 1TB log after feature
hashing: ``--rows`` rows (277,000), ``--features`` columns (1,000,000) and 39 non-zeros
a row: 13 numeric fields (columns 0-12, log-normal counts as log(1 + x)) and 26
categorical fields hashed into the other columns with a power-law popularity (value
1). Clicks (about one in four) follow a logistic model of the row. The rows are
written as ``--shards`` LIBSVM files (8), shard k drawn from ``SeedSequence([seed, k])``,
so a smaller ``--rows`` gives the head of each shard.

The same shards then go through the in-memory engine (``experiments.engines``) and the
Dask engine on a LocalCluster of ``--workers`` one-thread worker processes (2), each
engine in a process of its own so that peak memory is its own. Reported:

- seconds of each stage (load, fit, influence, the refits of ``--methods``);
- peak resident memory of the client process and of each worker;
- bytes moved per Hessian-vector product of the CG solve: sent by the client, received
  by it, and sent from worker to worker;
- the largest relative difference of phi between the engines.

Results go to ``<output-dir>/dask_scale-<rows>.md`` and ``.json``.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks import ROOT
from rdia import influence
from rdia.experiments.cli import OneLineParser


#: Numeric and categorical fields of a Criteo row.
NUMERIC, CATEGORICAL = 13, 26


def shard_rows(n_rows, n_features, seed, shard):
    """One shard of the synthetic click log.

    Parameters
    ----------
    n_rows, n_features : int
    seed, shard : int
        The shard is drawn from ``SeedSequence([seed, shard])``; the weights of the
        click model from ``SeedSequence([seed])``, the same for every shard.

    Returns
    -------
    X : csr_matrix of shape (n_rows, n_features), 39 non-zeros a row
    y : ndarray of shape (n_rows,), 0 / 1
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, shard]))
    numeric = np.log1p(rng.lognormal(1.0, 1.5, size=(n_rows, NUMERIC)))
    buckets = n_features - NUMERIC
    popularity = 1.0 / (np.arange(buckets) + 50.0) ** 1.1
    popularity /= popularity.sum()
    hashed = NUMERIC + np.sort(rng.choice(buckets, size=(n_rows, CATEGORICAL),
                                          p=popularity), axis=1)
    columns = np.hstack([np.tile(np.arange(NUMERIC), (n_rows, 1)), hashed])
    values = np.hstack([numeric, np.ones((n_rows, CATEGORICAL))])
    X = sp.csr_matrix((values.ravel(), columns.ravel(),
                       np.arange(0, n_rows * 39 + 1, 39)), shape=(n_rows, n_features))
    X.sum_duplicates()  # two fields hashed to one column add up
    weights = np.random.default_rng(np.random.SeedSequence([seed])).normal(
        scale=0.3, size=n_features)
    y = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-(X @ weights - 2.0)))
    return X, y.astype(int)


def write_data(folder, n_rows, n_features, n_shards, seed):
    """Write the shards ``part-00000`` ... (once; existing ones are kept)."""
    from sklearn.datasets import dump_svmlight_file

    folder.mkdir(parents=True, exist_ok=True)
    sizes = np.diff(np.linspace(0, n_rows, n_shards + 1).round().astype(int))
    for k, size in enumerate(sizes):
        path = folder / f"part-{k:05d}"
        if not path.exists():
            X, y = shard_rows(int(size), n_features, seed, k)
            dump_svmlight_file(X, y, str(path.with_suffix(".tmp")), zero_based=False)
            path.with_suffix(".tmp").replace(path)
    return folder


def write_mnist10(folder, n_rows, n_shards):
    """The first ``n_rows`` MNIST training images (ten digits) as LIBSVM shards (once)."""
    from rdia.data.datasets import load_multiclass
    from rdia.data.shards import write_shards

    if not folder.exists():
        data = load_multiclass("mnist10")
        write_shards(data.X_train[:n_rows], data.y_train[:n_rows], folder.with_suffix(".tmp"),
                     n_shards)
        folder.with_suffix(".tmp").replace(folder)
    return folder


def peak_rss(dask_worker=None):
    """Peak resident memory of this process, bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class StageLog:
    """Seconds, passes and round trips of every fit and phi call of an engine."""

    def __init__(self, engine):
        self.engine, self.stages, self.first = engine, [], None
        fit, solve = engine.fit, engine.phi

        def logged_fit(model, blocks, C, W0=None):
            result = self.timed("fit" if not self.stages else "refit", fit, model, blocks,
                                C, W0)
            self.stages[-1]["passes"] = result.passes
            if self.first is None:
                self.first = dict(model=model, blocks=blocks, C=C, W=result.W)
            return result

        def logged_phi(model, W, parts, C, solver):
            phi = self.timed("influence", solve, model, W, parts, C, solver)
            self.stages[-1]["passes"] = influence.influence_passes(solver)
            return phi

        engine.fit, engine.phi = logged_fit, logged_phi

    def timed(self, name, method, *args):
        trips = getattr(self.engine, "round_trips", None)
        start = time.perf_counter()
        result = method(*args)
        seconds = time.perf_counter() - start
        self.stages.append(dict(stage=name, seconds=seconds, round_trips=None if trips is None
                                else self.engine.round_trips - trips))
        return result


def task_times(stream):
    """Tasks, compute seconds and transfer seconds by function, from a Dask task stream."""
    from dask.utils import key_split

    times = {}
    for record in stream:
        entry = times.setdefault(key_split(record["key"]), dict(tasks=0, compute=0.0,
                                                                transfer=0.0))
        entry["tasks"] += 1
        for part in record["startstops"]:
            if part["action"] in ("compute", "transfer"):
                entry[part["action"]] += part["stop"] - part["start"]
    return times


def round_trip_anatomy(engine, first, n_products):
    """Where the time of one Hessian-vector product goes, averaged over ``n_products``
    at the fitted weights: from the call to the first partition task (the vector's way
    to the workers), the partition tasks (and the per-worker compute among them), the
    reduction on the workers (none when the client adds the results), and from there to
    the sum on the client."""
    from distributed import get_task_stream
    from dask.utils import key_split

    from rdia.experiments.engines import SummedObjective

    objective = SummedObjective(engine, first["model"], first["blocks"], first["C"])
    hessian = objective.hessian(objective.evaluate(np.ravel(first["W"])))
    v = np.random.default_rng(0).normal(size=hessian.n_features)
    hessian.matvec(v)
    phases = []
    for _ in range(n_products):
        with get_task_stream(client=engine.client) as stream:
            start = time.time()
            hessian.matvec(v)
            end = time.time()
        tasks = [(key_split(r["key"]), r["worker"], [s for s in r["startstops"]
                                                    if s["action"] == "compute"][0])
                 for r in stream.data]
        blocks = [t for t in tasks if t[0] == "block_hvp"]
        first_start = min(t[2]["start"] for t in blocks)
        last_stop = max(t[2]["stop"] for t in blocks)
        reduced = max([t[2]["stop"] for t in tasks if t[0] == "add_all"], default=last_stop)
        busy = {}
        for _, worker, span in blocks:
            busy[worker] = busy.get(worker, 0.0) + span["stop"] - span["start"]
        phases.append(dict(total=end - start, to_workers=first_start - start,
                           partition_tasks=last_stop - first_start,
                           worker_compute=max(busy.values()), reduction=reduced - last_stop,
                           to_client=end - reduced, tasks=len(tasks)))
    return {key: float(np.mean([p[key] for p in phases])) for key in phases[0]}


def run_engine(args):
    """Body of the per-engine process: run, print one JSON line of measurements."""
    import resource

    from rdia.experiments import pipeline
    from rdia.experiments.config import RunConfig
    from rdia.experiments.engines import open_engine

    config = RunConfig(dataset=args.data, noise=args.noise, alpha=args.alpha,
                       methods=tuple(args.methods.split(",")), engine=args.engine,
                       workers=args.workers if args.engine == "dask" else None).resolved()
    record = {}
    with open_engine(config) as engine:
        log = StageLog(engine)
        if args.engine == "dask":
            from distributed import get_task_stream

            with get_task_stream(client=engine.client) as stream:
                report = pipeline.run_on(engine, config, progress=False)
            record["tasks"] = task_times(stream.data)
            record["worker_peak_bytes"] = sorted(engine.client.run(peak_rss).values())
            record["traffic"] = engine.describe()
            record["anatomy"] = round_trip_anatomy(engine, log.first, args.products)
        else:
            report = pipeline.run_on(engine, config, progress=False)
        phi = np.concatenate([rows["phi"] for rows in report["rows"]])
    np.save(args.phi_out, phi)
    np.save(args.phi_out.replace(".npy", "-W.npy"), log.first["W"])
    record.update(timings=report["timings"], work=report["work"],
                  stages=log.stages, n_train=report["config"]["n_train"],
                  client_peak_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps(record))


def run_dask_ml(args):
    """Body of the dask-ml process: each solver of dask-ml's LogisticRegression on the
    training rows of the same shards (same split and noise), C on the summed loss, no
    intercept, no feature scaling (dask-glm's ``normalize`` would change the objective);
    one JSON line of seconds and objective gaps to the Newton fit's J."""
    from rdia.experiments import sources
    from rdia.experiments.config import RunConfig
    from rdia.experiments.engines import MemoryEngine
    from rdia.models import logreg

    config = RunConfig(dataset=args.data, noise=args.noise, alpha=args.alpha).resolved()
    parts = sources.load(config, MemoryEngine()).parts
    X = sp.vstack([p.X_train for p in parts], format="csr")
    y = np.concatenate([p.y_noisy for p in parts])
    J_star = logreg.objective(np.load(args.phi_out.replace(".npy", "-W.npy")), X, y, config.C)
    record = dict(J_star=J_star, solvers={})
    for solver in args.dask_ml_solvers.split(","):
        record["solvers"][solver] = dask_ml_fit(solver, parts, X, y, config.C, J_star, args)
    print(json.dumps(record))


#: Why dask-ml's newton solver is not run: what dask-glm's code does.
NEWTON_REFUSED = ("dask-glm's newton drops the penalty (no L2 term: another objective) and "
                  "forms the d x d Hessian (8 TB at d = 1,000,000)")


def dask_ml_fit(solver, parts, X, y, C, J_star, args):
    """One dask-ml solver on a LocalCluster of ``args.workers`` workers: seconds of the
    fit (data already on the workers) and the relative gap of its J to J_star."""
    import logging

    import dask.array as da
    import sparse
    from dask_ml.linear_model import LogisticRegression
    from distributed import Client, LocalCluster

    from rdia.models import logreg

    if solver == "newton" and X.shape[1] > 20_000:
        return dict(refused=NEWTON_REFUSED)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster):
        Xd = da.concatenate([da.from_array(sparse.COO.from_scipy_sparse(p.X_train),
                                           chunks=p.X_train.shape, asarray=False)
                             for p in parts]).persist()
        yd = da.concatenate([da.from_array(p.y_noisy.astype(float), chunks=p.n_train)
                             for p in parts]).persist()
        start = time.perf_counter()
        try:
            model = LogisticRegression(C=C, fit_intercept=False, solver=solver,
                                       max_iter=args.admm_iter if solver == "admm"
                                       else args.dask_ml_iter, tol=1e-10,
                                       solver_kwargs=dict(normalize=False)).fit(Xd, yd)
        except Exception as error:  # a solver that cannot run on this data says why
            return dict(failed=f"{type(error).__name__}: {' '.join(str(error).split())[:200]}",
                        seconds=time.perf_counter() - start)
        seconds = time.perf_counter() - start
    gap = (logreg.objective(np.ravel(model.coef_), X, y, C) - J_star) / J_star
    return dict(seconds=seconds, gap=float(gap), reached=bool(abs(gap) <= 1e-6),
                max_iter=args.admm_iter if solver == "admm" else args.dask_ml_iter)


def measure(engine, data, out, args, timeout=None):
    """Run one engine in a process of its own; its measurements and phi."""
    phi_path = out / f"phi-{'memory' if engine == 'dask-ml' else engine}.npy"
    command = [sys.executable, "-m", "benchmarks.dask_scale", "--run-engine", engine,
               "--data", str(data), "--phi-out", str(phi_path), "--workers",
               str(args.workers), "--methods", args.methods, "--noise", str(args.noise),
               "--alpha", str(args.alpha), "--products", str(args.products),
               "--dask-ml-solvers", args.dask_ml_solvers, "--dask-ml-iter",
               str(args.dask_ml_iter), "--admm-iter", str(args.admm_iter)]
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd=ROOT, start_new_session=True) as process:
        try:  # a dask-ml solver gets --dask-ml-seconds; its cluster goes with it
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return dict(timeout=timeout), None
    if process.returncode != 0:
        raise SystemExit(f"dask_scale: the {engine} run failed:\n{stderr[-3000:]}")
    record = json.loads(stdout.strip().splitlines()[-1])
    record["wall"] = time.perf_counter() - start
    return record, (None if engine == "dask-ml" else np.load(phi_path))


def best_of(runs):
    """The run of each engine with the least fit + influence + refit seconds."""
    return min(runs, key=lambda r: sum(s["seconds"] for s in r["stages"]))


def stage_rows(engine, record):
    """Table rows: one per stage, its seconds, passes and round trips."""
    rows = []
    for stage in record["stages"]:
        trips = stage["round_trips"]
        per_trip = f"{1000 * stage['seconds'] / trips:.0f}" if trips else "-"
        rows.append(f"| {engine} | {stage['stage']} | {stage['seconds']:.2f} | "
                    f"{stage['passes']} | {'-' if trips is None else trips} | {per_trip} |")
    return rows


def table(results, args, phi_difference, dask_ml=None, kclass=None):
    """The markdown report."""
    mib = 2 ** 20
    memory, dask = best_of(results["memory"]), best_of(results["dask"])
    total = {name: sum(s["seconds"] for s in best_of(runs)["stages"])
             for name, runs in results.items()}
    lines = [f"Criteo-1%-shaped: {args.rows:,} rows x {args.features:,} features, 39 "
             f"non-zeros a row, {args.shards} shards; methods {args.methods}; "
             f"{args.workers} local workers (one thread each); best of {args.repeat} "
             f"runs of each engine, alternated.", "",
             "| engine | stage | s | passes over X | round trips | ms per round trip |",
             "|---|---|---|---|---|---|"]
    lines += stage_rows("memory", memory) + stage_rows("dask", dask)
    lines += ["", f"Fit + influence + refits: memory {total['memory']:.2f} s, dask "
                  f"{total['dask']:.2f} s ({total['dask'] / total['memory']:.2f}x). Load: "
                  f"memory {memory['timings']['load']:.2f} s, dask "
                  f"{dask['timings']['load']:.2f} s. Peak memory: client "
                  f"{memory['client_peak_bytes'] / mib:.0f} MiB (memory), "
                  f"{dask['client_peak_bytes'] / mib:.0f} MiB (dask), workers "
                  f"{', '.join(f'{b / mib:.0f}' for b in dask['worker_peak_bytes'])} MiB.",
              "", "Where one Hessian-vector product's round trip goes (dask, mean of "
                  f"{args.products} at the fitted weights, ms):", "",
              "| total | call to first partition task | partition tasks (busiest worker's "
              "compute) | reduction on the workers | to the sum on the client | tasks |",
              "|---|---|---|---|---|---|"]
    a = dask["anatomy"]
    lines.append(f"| {1000 * a['total']:.0f} | {1000 * a['to_workers']:.0f} | "
                 f"{1000 * a['partition_tasks']:.0f} ({1000 * a['worker_compute']:.0f}) | "
                 f"{1000 * a['reduction']:.0f} | {1000 * a['to_client']:.0f} | "
                 f"{a['tasks']:.0f} |")
    traffic = dask["traffic"]
    lines += ["", f"Client traffic over the run: sent {traffic['bytes_sent'] / mib:.0f} MiB, "
                  f"received {traffic['bytes_received'] / mib:.0f} MiB in "
                  f"{traffic['round_trips']} round trips (one vector of d float64 is "
                  f"{8 * args.features / mib:.2f} MiB). Task seconds by function "
                  f"(compute / transfer): " + "; ".join(
                      f"{name} {t['tasks']} tasks {t['compute']:.1f} / {t['transfer']:.1f}"
                      for name, t in sorted(dask["tasks"].items())) + ".",
              f"Largest relative difference of phi between the engines: "
              f"{phi_difference:.1e}."]
    if dask_ml is not None:
        lines += ["", f"dask-ml {DASK_ML_VERSION} LogisticRegression on the same training "
                      f"rows (C = {dask_ml['C']} on the summed loss, no intercept, "
                      f"normalize=False), {args.workers} workers, to J within 1e-6 "
                      f"(relative) of the Newton fit's J = {dask_ml.get('J_star', 0):.6f}:",
                  "",
                  "| fitter | s | J gap (relative) | reached 1e-6 |", "|---|---|---|---|",
                  f"| RDIA Dask engine (trust-region Newton) | {dask['stages'][0]['seconds']:.2f} "
                  f"| (reference) | yes |"]
        for solver, outcome in dask_ml["solvers"].items():
            if "gap" in outcome:
                lines.append(f"| dask-ml {solver} ({outcome['max_iter']} iterations at "
                             f"most) | {outcome['seconds']:.2f} | "
                             f"{outcome['gap']:.1e} | {'yes' if outcome['reached'] else 'no'} |")
            elif "timeout" in outcome:
                lines.append(f"| dask-ml {solver} | > {outcome['timeout']:.0f} | not done "
                             f"within {outcome['timeout']:.0f} s (stopped) | no |")
            else:
                lines.append(f"| dask-ml {solver} | - | cannot run: "
                             f"{outcome.get('refused') or outcome.get('failed')} | no |")
    if kclass is not None:
        lines += ["", f"K-class row: {kclass['label']}.", "",
                  "| engine | stage | s | passes over X | round trips | ms per round trip |",
                  "|---|---|---|---|---|---|"]
        lines += stage_rows("memory", best_of(kclass["memory"]))
        lines += stage_rows("dask", best_of(kclass["dask"]))
        lines.append(f"\nLargest relative difference of phi: {kclass['phi_difference']:.1e}.")
    return "\n".join(lines)


def dask_ml_version():
    try:
        from importlib.metadata import version

        return version("dask-ml")
    except Exception:
        return None


DASK_ML_VERSION = dask_ml_version()


def build_parser():
    parser = OneLineParser(prog="python -m benchmarks.dask_scale",
                           description="The Dask engine against the in-memory engine on "
                                       "a Criteo-1%-shaped problem.")
    parser.add_argument("--rows", type=int, default=277_000,
                        help="rows of the synthetic click-log data (train, validation "
                             "and test)")
    parser.add_argument("--features", type=int, default=1_000_000,
                        help="columns: 13 numeric fields and 26 categorical fields "
                             "hashed into the rest")
    parser.add_argument("--shards", type=int, default=8,
                        help="LIBSVM shards the rows are written to, one partition each")
    parser.add_argument("--workers", type=int, default=2,
                        help="one-thread worker processes of the Dask LocalCluster")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the run")
    parser.add_argument("--noise", type=float, default=0.2,
                        help="fraction of training labels flipped")
    parser.add_argument("--alpha", type=float, default=0.0002,
                        help="harmfulness threshold: relabel the samples with phi > alpha")
    parser.add_argument("--methods", default="rdia",
                        help="methods refitted after phi (comma-separated)")
    parser.add_argument("--data-root", default=str(ROOT / "results_tmp" / "dask_scale"),
                        help="where the shards are written (kept for the next run) "
                             "(default: results_tmp/dask_scale)")
    parser.add_argument("--output-dir", default=str(ROOT / "results" / "dask_scale"),
                        help="folder of the report and the JSON (default: "
                             "results/dask_scale)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each engine, alternated; the best is reported")
    parser.add_argument("--products", type=int, default=10,
                        help="Hessian-vector products timed for the round-trip anatomy")
    parser.add_argument("--dask-ml-solvers", default="admm,lbfgs,newton",
                        help="dask-ml LogisticRegression solvers to compare ('' for none)")
    parser.add_argument("--dask-ml-iter", type=int, default=200,
                        help="iteration limit of each dask-ml solver")
    parser.add_argument("--admm-iter", type=int, default=3,
                        help="iteration limit of dask-ml's admm (each iteration runs "
                             "L-BFGS to 200 steps on every partition)")
    parser.add_argument("--dask-ml-seconds", type=float, default=600,
                        help="a dask-ml solver still running after this is stopped")
    parser.add_argument("--kclass-rows", type=int, default=10_000,
                        help="MNIST training images of the K-class row (0: no row)")
    parser.add_argument("--run-engine", choices=("memory", "dask", "dask-ml"), default=None,
                        help=argparse_suppress())
    parser.add_argument("--data", help=argparse_suppress())
    parser.add_argument("--phi-out", help=argparse_suppress())
    return parser


def argparse_copy(args, **changes):
    import argparse

    return argparse.Namespace(**{**vars(args), **changes})


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def alternated(data, out, args, label):
    """``args.repeat`` runs of each engine on ``data``, alternated; the runs and the
    largest relative difference of phi between the engines (last runs)."""
    results, phis = {"memory": [], "dask": []}, {}
    for _ in range(args.repeat):
        for engine in results:
            record, phis[engine] = measure(engine, data, out, args)
            results[engine].append(record)
            print(f"{label} {engine}: {record['wall']:.1f} s", flush=True)
    difference = float(np.max(np.abs(phis["dask"] - phis["memory"]))
                       / np.max(np.abs(phis["memory"])))
    return results, difference


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.run_engine == "dask-ml":
        return run_dask_ml(args)
    if args.run_engine:
        args.engine = args.run_engine
        return run_engine(args)
    if args.rows < 10 * args.shards or args.features <= NUMERIC + CATEGORICAL:
        raise SystemExit("dask_scale: --rows must be at least 10 per shard and "
                         "--features above 39")
    if args.dask_ml_solvers and DASK_ML_VERSION is None:
        print("dask_scale: dask-ml is not installed, so the comparison is left out: "
              "pip install dask-ml", file=sys.stderr)
        args.dask_ml_solvers = ""
    data = Path(args.data_root) / f"rows{args.rows}-features{args.features}-shards" \
                                  f"{args.shards}-seed{args.seed}"
    start = time.perf_counter()
    write_data(data, args.rows, args.features, args.shards, args.seed)
    print(f"data ready in {time.perf_counter() - start:.1f} s: {data}", flush=True)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, difference = alternated(data, out, args, "criteo")
    dask_ml = None
    if args.dask_ml_solvers:
        dask_ml = dict(C=0.1, solvers={})
        for solver in args.dask_ml_solvers.split(","):
            one = argparse_copy(args, dask_ml_solvers=solver)
            record = measure("dask-ml", data, out, one, timeout=args.dask_ml_seconds)[0]
            if "timeout" in record:
                dask_ml["solvers"][solver] = record
            else:
                dask_ml["J_star"] = record["J_star"]
                dask_ml["solvers"].update(record["solvers"])
            print(f"dask-ml {solver}: {dask_ml['solvers'][solver]}", flush=True)
    kclass = None
    if args.kclass_rows:
        folder = write_mnist10(Path(args.data_root) / f"mnist10-rows{args.kclass_rows}-"
                                                     f"shards{args.shards}",
                               args.kclass_rows, args.shards)
        kclass_args = build_parser().parse_args(argv)
        kclass_args.dask_ml_solvers = ""
        runs, phi_difference = alternated(folder, out, kclass_args, "mnist10")
        kclass = dict(runs, phi_difference=phi_difference,
                      label=f"softmax, mnist10: the first {args.kclass_rows:,} MNIST "
                            f"training images (784 pixels, 10 classes) as {args.shards} "
                            f"LIBSVM shards, the same methods, noise and alpha")
    report = table(results, args, difference, dask_ml, kclass)
    print(report)
    stem = out / f"dask_scale-{args.rows}"
    stem.with_suffix(".md").write_text(report + "\n")
    stem.with_suffix(".json").write_text(json.dumps(
        dict(settings={key: value for key, value in vars(args).items()
                       if key not in ("data_root", "output_dir", "data", "phi_out")},
             results=results, phi_relative_difference=difference,
             dask_ml=dask_ml, kclass=kclass), indent=2) + "\n")
    for path in out.glob("phi-*.npy"):
        os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
