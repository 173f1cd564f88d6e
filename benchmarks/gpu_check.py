"""Ready for a GPU: the paper's MNIST command for 200 epochs, and timed CIFAR-10 epochs.

Usage, from the repository root, on a machine with a CUDA GPU::

    python -m benchmarks.gpu_check                     # about 8 minutes at most
    python -m benchmarks.gpu_check --cpu --mnist-epochs 1 --mnist-subset 300 \
        --cifar-train 100 --cifar-test 110 --cifar-epochs 1   # a smoke test on the CPU

Two parts, both through ``experiments.deep.run`` (the code of ``RDIA-LS.py``):

1. **MNIST**: the paper's command, ``RDIA-LS.py --dataset mnist --noise_rate 0.8
   --gamma 0.2 --seed 1`` (RDIA-LS with the published loss, 200 epochs), on cuda:0.
   The MNIST files must be in the data folder (``--data_dir``, else
   ``$RDIA_DATA_DIR``, else ``datasets/`` in the repository): a GPU machine without
   network needs them copied there first.
2. **CIFAR-10**: the real files cannot be had here, so the script writes batches in
   the format of the published python batches (``data.cifar``: five pickled
   ``data_batch_<i>`` dicts with ``b'data'``, uint8 of shape (n, 3072), red, green,
   then blue planes of 32x32 images, and ``b'labels'``, a list of ints, plus
   ``test_batch`` and ``batches.meta``), with seeded random pixels and labels, 50,000
   training and 10,000 test images by default, into a temporary folder; then trains
   the 6-conv CNN with RDIA-LS (the published loss, CIFAR-10's gamma 0.05) for
   ``--cifar-epochs`` epochs and times each. Random images make the accuracy
   meaningless; only the seconds count.

Prints a markdown table (device, epochs, seconds of the first epoch, median seconds
of the others, total, last-10 test accuracy for MNIST) and writes it to
``<--out>/table.md`` (default ``results/gpu_check``), with each run's CSV, plot and
JSON under ``<--out>/runs``. Without CUDA it says so and stops with status 2,
unless ``--cpu`` asks for the CPU. Bad flags print one line and exit 2.
"""

import dataclasses
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rdia.data import DataError
from rdia.data.cifar import IMAGE_SHAPE, N_CLASSES, TEST_BATCH, TRAIN_BATCHES
from rdia.data.download import CIFAR10_FOLDER
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser
from rdia.experiments.files import check_output_paths, write_text_atomic
from rdia.experiments.report import markdown_table

ROOT = Path(__file__).resolve().parents[1]

#: Name of the benchmark in its usage and error lines.
PROG = "benchmarks.gpu_check"

#: The paper's MNIST command (RDIA-LS.py's defaults and the published loss).
MNIST_COMMAND = dataclasses.replace(deep.PAPER_SETTING, method="rdia-ls", loss="published",
                                    seed=1)

#: Label names of batches.meta, as in the published files.
LABEL_NAMES = (b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
               b"horse", b"ship", b"truck")


def write_cifar_batches(data_dir, n_train, n_test, seed=0):
    """Write CIFAR-10 python batches of random images in the published format.

    Parameters
    ----------
    data_dir : path-like
        Data folder; the batches go to its ``cifar10/cifar-10-batches-py/``.
    n_train : int
        Training images, split as evenly as possible over the five batches.
    n_test : int
        Test images; their labels cycle through the 10 classes.
    seed : int

    Returns
    -------
    folder : pathlib.Path
        The folder of the batches.
    """
    folder = Path(data_dir) / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = [len(part) for part in np.array_split(np.arange(n_train), len(TRAIN_BATCHES))]
    n_values = int(np.prod(IMAGE_SHAPE))
    for name, n in [*zip(TRAIN_BATCHES, sizes), (TEST_BATCH, n_test)]:
        labels = (np.arange(n) % N_CLASSES if name == TEST_BATCH
                  else rng.integers(0, N_CLASSES, n))
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
                 b"data": rng.integers(0, 256, (n, n_values), dtype=np.uint8),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    meta = {b"label_names": list(LABEL_NAMES), b"num_cases_per_batch": max(sizes),
            b"num_vis": n_values}
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    return folder


def timing_row(part, result, seconds):
    """One table row of a finished run: seconds per epoch and its accuracy."""
    epochs = [row["seconds"] for row in result["epochs"]]
    rest = epochs[1:]
    return [part, result["data"]["device"], len(epochs), f"{epochs[0]:.2f}",
            f"{statistics.median(rest):.2f}" if rest else "-", f"{seconds:.0f}",
            f"{result['final']['test_acc_last10_mean']:.2f}"]


def timed_run(config):
    """:func:`experiments.deep.run` and its wall-clock seconds."""
    started = time.perf_counter()
    result = deep.run(config)
    return result, time.perf_counter() - started


def run_check(args):
    """Train both parts; return the markdown report."""
    runs = Path(args.out) / "runs"
    common = {"gpu": None if args.cpu else args.gpu, "progress": args.progress,
              "result_dir": str(runs)}
    mnist = dataclasses.replace(MNIST_COMMAND, n_epoch=args.mnist_epochs,
                                subset=args.mnist_subset, data_dir=args.data_dir, **common)
    mnist = dataclasses.replace(mnist, output=str(runs / f"{deep.run_name(mnist)}.json"))
    rows = [timing_row("MNIST, the paper's command (RDIA-LS)", *timed_run(mnist))]
    with tempfile.TemporaryDirectory(prefix="gpu-check-cifar-") as data_dir:
        started = time.perf_counter()
        write_cifar_batches(data_dir, args.cifar_train, args.cifar_test)
        written = time.perf_counter() - started
        cifar = deep.LSConfig(dataset="cifar10", method="rdia-ls", loss="published",
                              noise_rate=0.8, seed=1, n_epoch=args.cifar_epochs,
                              data_dir=data_dir, **common)
        cifar = dataclasses.replace(cifar, output=str(runs / f"{deep.run_name(cifar)}.json"))
        rows.append(timing_row("CIFAR-10 CNN, RDIA-LS, random images", *timed_run(cifar)))
    header = ["part", "device", "epochs", "first epoch (s)", "other epochs, median (s)",
              "total (s)", "test acc, last-10 mean (%)"]
    name = torch.cuda.get_device_name(args.gpu) if not args.cpu else "CPU"
    return "\n".join([
        f"# GPU check ({name})", "",
        markdown_table(header, rows), "",
        f"MNIST: {mnist.n_epoch} epochs of the paper's command"
        + (f" on {mnist.subset} training images" if mnist.subset else "") + ". CIFAR-10: "
        f"{args.cifar_train:,} training and {args.cifar_test:,} test images of random "
        f"pixels in the published batch format (written in {written:.0f} s), "
        f"{args.cifar_epochs} epochs, batch 128; seconds per epoch include the "
        "evaluation of the test set.", ""])


def build_parser():
    """The benchmark's command-line parser (flags in either spelling, one-line errors)."""
    p = OneLineParser(prog=PROG, description=__doc__.split("\n")[0],
                      formatter_class=DefaultsFormatter)
    p.add_argument("--gpu", type=int, default=0, help="CUDA device index")
    p.add_argument("--cpu", action="store_true",
                   help="run on the CPU (a smoke test with tiny settings, not a GPU check)")
    p.add_argument("--mnist-epochs", type=int, default=200, help="epochs of the MNIST run")
    p.add_argument("--mnist-subset", type=int, default=None,
                   help="train MNIST on a seeded subset of N images (default: all)")
    p.add_argument("--cifar-epochs", type=int, default=3, help="timed CIFAR-10 epochs")
    p.add_argument("--cifar-train", type=int, default=50000, help="CIFAR-10 training images")
    p.add_argument("--cifar-test", type=int, default=10000, help="CIFAR-10 test images")
    p.add_argument("--data_dir", default=None,
                   help="folder of the MNIST files (default: $RDIA_DATA_DIR, else datasets/)")
    p.add_argument("--out", default=str(ROOT / "results" / "gpu_check"),
                   help="folder of table.md and the runs (default: results/gpu_check)")
    p.add_argument("--no_progress", dest="progress", action="store_false",
                   help="hide the progress bars")
    return p


def main(argv=None):
    """Command-line entry point; returns 0, or 2 on bad input or without CUDA."""
    args = build_parser().parse_args(argv)
    try:
        if min(args.mnist_epochs, args.cifar_epochs) < 1:
            raise ConfigError("--mnist-epochs and --cifar-epochs must be at least 1")
        if args.cifar_train < 10 or args.cifar_test <= 100:
            raise ConfigError("--cifar-train must be at least 10 and --cifar-test above 100 "
                              "(the validation split holds out 10 test images per class)")
        if not args.cpu and not torch.cuda.is_available():
            raise ConfigError("CUDA is not available; pass --cpu for a smoke test on the CPU")
        check_output_paths({"--out (table)": (Path(args.out) / "table.md", None)})
        report = run_check(args)
    except (ConfigError, DataError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    write_text_atomic(Path(args.out) / "table.md", report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
