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
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks import ROOT
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


def peak_rss(dask_worker=None):
    """Peak resident memory of this process, bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
        report = pipeline.run_on(engine, config, progress=False)
        phi = np.concatenate([rows["phi"] for rows in report["rows"]])
        if args.engine == "dask":
            record["worker_peak_bytes"] = sorted(engine.client.run(peak_rss).values())
            record["traffic"] = engine.describe()
    np.save(args.phi_out, phi)
    record.update(timings=report["timings"], solver=report["solver"],
                  n_train=report["config"]["n_train"],
                  client_peak_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps(record))


def measure(engine, data, out, args):
    """Run one engine in a process of its own; its measurements and phi."""
    phi_path = out / f"phi-{engine}.npy"
    command = [sys.executable, "-m", "benchmarks.dask_scale", "--run-engine", engine,
               "--data", str(data), "--phi-out", str(phi_path), "--workers",
               str(args.workers), "--methods", args.methods, "--noise", str(args.noise),
               "--alpha", str(args.alpha)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"dask_scale: the {engine} engine failed:\n{done.stderr}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["wall"] = time.perf_counter() - start
    return record, np.load(phi_path)


def table(results, args, phi_difference):
    """The markdown report."""
    mib = 2 ** 20
    lines = [f"Criteo-1%-shaped: {args.rows:,} rows x {args.features:,} features, 39 "
             f"non-zeros a row, {args.shards} shards; methods {args.methods}; "
             f"{args.workers} local workers (one thread each).", "",
             "| engine | load s | fit s | influence s | refits s | CG iterations | "
             "client peak MiB | worker peak MiB |", "|---|---|---|---|---|---|---|---|"]
    for engine, record in results.items():
        t = record["timings"]
        workers = ", ".join(f"{b / mib:.0f}" for b in record.get("worker_peak_bytes", []))
        lines.append(f"| {engine} | {t['load']:.2f} | {t['fit']:.2f} | "
                     f"{t['influence']:.2f} | {t['methods']:.2f} | "
                     f"{record['solver']['iterations']} | "
                     f"{record['client_peak_bytes'] / mib:.0f} | {workers or '-'} |")
    traffic = results["dask"]["traffic"]
    per = {key: traffic[key] / traffic["products"] for key in
           ("client_sent", "client_received", "between_workers")}
    lines += ["", f"Bytes per Hessian-vector product of the CG solve ({traffic['products']} "
                  f"products): client sent {per['client_sent'] / mib:.2f} MiB, client "
                  f"received {per['client_received'] / mib:.2f} MiB, between workers "
                  f"{per['between_workers'] / mib:.2f} MiB (one vector of d float64 is "
                  f"{8 * args.features / mib:.2f} MiB).",
              f"Largest relative difference of phi between the engines: "
              f"{phi_difference:.1e}."]
    return "\n".join(lines)


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
    parser.add_argument("--run-engine", choices=("memory", "dask"), default=None,
                        help=argparse_suppress())
    parser.add_argument("--data", help=argparse_suppress())
    parser.add_argument("--phi-out", help=argparse_suppress())
    return parser


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.run_engine:
        args.engine = args.run_engine
        return run_engine(args)
    if args.rows < 10 * args.shards or args.features <= NUMERIC + CATEGORICAL:
        raise SystemExit("dask_scale: --rows must be at least 10 per shard and "
                         "--features above 39")
    data = Path(args.data_root) / f"rows{args.rows}-features{args.features}-shards" \
                                  f"{args.shards}-seed{args.seed}"
    start = time.perf_counter()
    write_data(data, args.rows, args.features, args.shards, args.seed)
    print(f"data ready in {time.perf_counter() - start:.1f} s: {data}", flush=True)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, phis = {}, {}
    for engine in ("memory", "dask"):
        results[engine], phis[engine] = measure(engine, data, out, args)
        print(f"{engine}: {results[engine]['wall']:.1f} s", flush=True)
    difference = float(np.max(np.abs(phis["dask"] - phis["memory"]))
                       / np.max(np.abs(phis["memory"])))
    report = table(results, args, difference)
    print(report)
    stem = out / f"dask_scale-{args.rows}"
    stem.with_suffix(".md").write_text(report + "\n")
    stem.with_suffix(".json").write_text(json.dumps(
        dict(settings=vars(args), results=results, phi_relative_difference=difference),
        indent=2) + "\n")
    for engine in phis:
        os.remove(out / f"phi-{engine}.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
