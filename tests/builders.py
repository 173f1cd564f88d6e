"""Seeded data builders shared by the tests."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

#: The repository root, where the scripts are.
ROOT = Path(__file__).resolve().parents[1]


def interruptible():
    """``preexec_fn`` of a script that a test interrupts with SIGINT: Ctrl-C as on a
    terminal, even when the test runs where SIGINT is ignored (a background job of a
    non-interactive shell passes SIG_IGN on, and Python then installs no handler)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def gaussian_features(n, d, sparse, rng):
    """Standard normal features: dense (n, d), or CSR with about 40% non-zeros."""
    if sparse:
        return sp.random(n, d, density=0.4, format="csr", random_state=rng,
                         data_rvs=lambda k: rng.normal(size=k))
    return rng.normal(size=(n, d))


def logistic_data(n=300, d=6, sparse=False, noise=0.2, seed=0):
    """A binary problem drawn from a logistic model, with some labels flipped.

    Parameters
    ----------
    n, d : int
        Samples and features.
    sparse : bool
        Return X as CSR with about 40% non-zeros instead of a dense array.
    noise : float
        Fraction of labels flipped after drawing them from the model.
    seed : int
        Seed of everything.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n, d)
    y : ndarray of shape (n,), labels in {0, 1} after flipping
    flipped : ndarray of bool, shape (n,)
    """
    rng = np.random.default_rng(seed)
    X = gaussian_features(n, d, sparse, rng)
    w_true = rng.normal(size=d) * 1.5
    p = 1.0 / (1.0 + np.exp(-np.asarray(X @ w_true).ravel()))
    y = (rng.random(n) < p).astype(float)
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, int(noise * n), replace=False)] = True
    y[flipped] = 1.0 - y[flipped]
    return X, y, flipped


def train_val(n_train=300, n_val=150, d=6, sparse=False, noise=0.2, seed=0):
    """A noisy training set and a clean validation set from the same model."""
    X, y, flipped = logistic_data(n_train + n_val, d, sparse, 0.0, seed)
    rng = np.random.default_rng(seed + 1)
    y_train = y[:n_train].copy()
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.choice(n_train, int(noise * n_train), replace=False)] = True
    y_train[flipped] = 1.0 - y_train[flipped]
    return X[:n_train], y_train, X[n_train:], y[n_train:], flipped


def dense(X):
    """X as a dense array (test-side reference computations on small data only)."""
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def softmax_data(n=240, d=5, k=4, sparse=False, seed=0):
    """A K-class problem drawn from a softmax model.

    Parameters
    ----------
    n, d, k : int
        Samples, features and classes.
    sparse : bool
        Return X as CSR with about 40% non-zeros instead of a dense array.
    seed : int
        Seed of everything.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n, d)
    y : ndarray of shape (n,), labels in 0 .. k - 1
    """
    rng = np.random.default_rng(seed)
    X = gaussian_features(n, d, sparse, rng)
    scores = np.asarray(X @ rng.normal(size=(d, k)) * 1.5)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    return X, np.minimum(y, k - 1)


def digits_train_val(n_train=300, n_val=150, noise=0.3, seed=0):
    """scikit-learn's 8x8 digits (pixels / 16): a noisy training and a clean validation set.

    The images are shuffled with ``seed``; the first ``n_train`` get symmetric label
    noise at rate ``noise`` (data.noise), the next ``n_val`` keep their labels.

    Returns
    -------
    X_train : ndarray of shape (n_train, 64)
    y_train : ndarray of shape (n_train,), noisy labels in 0 .. 9
    X_val : ndarray of shape (n_val, 64)
    y_val : ndarray of shape (n_val,)
    noisy : ndarray of bool, shape (n_train,)
    """
    from sklearn.datasets import load_digits

    from rdia.data.noise import apply_transition, transition_matrix

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))[:n_train + n_val]
    X, y = X[order] / 16.0, y[order].astype(np.int64)
    y_train, noisy = apply_transition(y[:n_train], transition_matrix("symmetric", 10, noise),
                                      seed + 1)
    return X[:n_train], y_train, X[n_train:], y[n_train:], noisy


def write_libsvm(path, labels, rows):
    """Write a LIBSVM text file: one ``label j:v ...`` line per (label, [(j, v), ...])."""
    lines = [f"{label} " + " ".join(f"{j}:{v}" for j, v in row) for label, row in
             zip(labels, rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_libsvm_problem(tmp_path, n=120, labels=(-1, 1), seed=0):
    """A small separable-ish LIBSVM file ``toy.svm`` with the given label values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, labels[-1], labels[0])
    if len(labels) > 2:
        y[:len(labels)] = labels
    rows = [[(j + 1, f"{v:.4f}") for j, v in enumerate(x)] for x in X]
    return write_libsvm(tmp_path / "toy.svm", y, rows)


def write_multiclass_libsvm(tmp_path, n=150, labels=(1, 2, 3), width=None, seed=0):
    """A LIBSVM file with len(labels) classes from a seeded rule on 4 features.

    With ``width``, features 5 .. ``width`` are spread over the rows (row i has
    5 + i, 5 + i + n, ...), each 0.5, so that X is that wide with no zero column.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.asarray(labels)[np.argmax(X[:, :len(labels)], axis=1)]
    rows = [[(j + 1, f"{v:.4f}") for j, v in enumerate(x)] for x in X]
    if width:
        for i, row in enumerate(rows):
            row.extend((j, "0.5") for j in range(5 + i, width + 1, n))
    return write_libsvm(tmp_path / f"classes{width or ''}.svm", y, rows)


def mixed_table(n=60, seed=0, labels=("no", "yes")):
    """A seeded table with numeric and categorical columns, an id and a label column.

    Columns: ``id`` (int), ``age`` (float), ``dose`` (int), ``color`` (text: red,
    green, blue), ``label`` (from ``labels``, by a seeded rule on age and color).

    Returns
    -------
    frame : pandas.DataFrame of shape (n, 5)
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.normal(50.0, 10.0, size=n).round(2)
    color = rng.choice(["red", "green", "blue"], size=n)
    dose = rng.integers(1, 5, size=n)
    score = (age - 50.0) / 10.0 + (color == "red") - 0.3 + rng.normal(0, 0.5, size=n)
    label = np.asarray(labels, dtype=object)[(score > 0).astype(int)]
    return pd.DataFrame({"id": np.arange(n) + 100, "age": age, "dose": dose,
                         "color": color, "label": label})


def breast_cancer_noisy(n_train=400, noise=0.2, seed=0):
    """scikit-learn's breast-cancer data, shuffled, standardised, with flipped labels.

    The rows are shuffled with ``seed``; the first ``n_train`` are the training set,
    where exactly ``int(noise * n_train)`` labels (chosen with ``seed``) are flipped,
    and the rest the clean validation set. Features are standardised with the
    training rows' mean and standard deviation.

    Returns
    -------
    X_train : ndarray of shape (n_train, 30)
    y_train : ndarray of shape (n_train,), noisy labels in {0, 1} (0 = malignant)
    X_val : ndarray of shape (569 - n_train, 30)
    y_val : ndarray of shape (569 - n_train,)
    flipped : ndarray of bool, shape (n_train,)
    """
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    mean, std = X[:n_train].mean(axis=0), X[:n_train].std(axis=0)
    X = (X - mean) / std
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.choice(n_train, int(noise * n_train), replace=False)] = True
    y_train = np.where(flipped, 1 - y[:n_train], y[:n_train])
    return X[:n_train], y_train, X[n_train:], y[n_train:], flipped


def explicit_softmax_refit(X, y, relabeled, C, K):
    """argmin 1/2 |W|^2 + C sum_i l_i, l = CE, or -log(1 - p_y) where relabeled, by
    L-BFGS on an objective written here (docs/method.md section 2)."""
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    X = X.toarray() if sp.issparse(X) else np.asarray(X)

    def objective(w):
        W = w.reshape(-1, K)
        log_p = log_softmax(X @ W, axis=1)
        p_y = np.exp(log_p[np.arange(len(y)), y])
        loss = np.where(relabeled, -np.log1p(-np.minimum(p_y, 1 - 1e-12)),
                        -log_p[np.arange(len(y)), y])
        P = np.exp(log_p)
        onehot = np.eye(K)[y]
        # d l_R / d logits = -(p_y / (1 - p_y)) (p - e_y), the identity of section 2
        G = np.where(relabeled[:, None], -(p_y / (1 - p_y))[:, None] * (P - onehot),
                     P - onehot)
        return 0.5 * w @ w + C * loss.sum(), w + C * (X.T @ G).ravel()

    result = minimize(objective, np.zeros(X.shape[1] * K), jac=True, method="L-BFGS-B",
                      options=dict(maxiter=20000, gtol=1e-10, ftol=1e-15))
    return result.x.reshape(-1, K)


def epoch_rows(test, val=None, scored=None):
    """Per-epoch rows with the given accuracies (lists of equal length)."""
    rows = []
    for i, t in enumerate(test):
        row = {"epoch": i + 1, "test_acc": t}
        if val is not None:
            row.update(val_acc=val[i], scored_acc=scored[i])
        rows.append(row)
    return rows


def trained_run(data_dir, folder, **settings):
    """A finished deep run trained by ``experiments.deep.run``, its files in ``folder``.

    Two epochs of the paper's setting (``deep.PAPER_SETTING``) on 300 seeded MNIST
    images, one thread, the JSON at ``<folder>/<run name>.json``; ``settings``
    override any of them.

    Returns
    -------
    config : experiments.deep.LSConfig
        With ``output`` set.
    result : dict
        As ``deep.run`` returns it (and wrote to ``output``).
    """
    from rdia.experiments import deep

    config = dataclasses.replace(deep.PAPER_SETTING, **{
        "subset": 300, "n_epoch": 2, "seed": 1, "threads": 1, "progress": False,
        "data_dir": str(data_dir), "result_dir": str(folder), **settings})
    config = dataclasses.replace(config,
                                 output=str(Path(folder) / f"{deep.run_name(config)}.json"))
    return config, deep.run(config)


def write_run(config, rows):
    """A finished RDIA-LS run's JSON at config.output, as experiments.deep.run writes it."""
    path = Path(config.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"config": dataclasses.asdict(config.resolved()),
                                "epochs": rows}))


def module_error(module, *flags):
    """Run ``python -m module flags`` from the repository root; assert that it exits 2
    with one line on stderr, and return that line."""
    done = subprocess.run([sys.executable, "-m", module, *flags], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def repair_problem(name, noise=0.1, trusted_noise=0.0, seed=0, rows=1200):
    """One split of ``benchmarks/label_repair``: noisy training rows, a trusted file.

    The trusted file gets ``trusted_noise`` of its labels changed to another class
    (drawn with ``seed``); the training labels symmetric noise at ``noise``.

    Returns
    -------
    X, y_noisy, X_trusted, y_trusted, X_test, y_test : arrays
    changed : ndarray of bool, shape (n_train,)
        Training labels that the noise changed.
    wrong : ndarray of int
        Positions of the changed trusted labels.
    """
    from benchmarks.label_repair import load_pooled, noisy_labels, split

    X, y = load_pooled(name)
    n_classes = int(y.max()) + 1
    (X_tr, y_tr), (X_trusted, y_trusted), (X_test, y_test) = split(X, y, rows, seed)
    y_noisy, changed = noisy_labels(y_tr, n_classes, noise, seed)
    rng = np.random.default_rng(seed + 7)
    wrong = rng.choice(len(y_trusted), int(trusted_noise * len(y_trusted)), replace=False)
    y_trusted = y_trusted.copy()
    shift = rng.integers(1, n_classes, len(wrong))
    y_trusted[wrong] = (y_trusted[wrong] + shift) % n_classes
    return X_tr, y_noisy, X_trusted, y_trusted, X_test, y_test, changed, wrong
