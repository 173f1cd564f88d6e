"""relabel.py: R, l_R, the harmful set, and the theorem of docs/method.md section 2."""

import numpy as np
import pytest
from scipy.special import softmax

import rdia
from rdia import influence
from rdia import relabel
from builders import breast_cancer_noisy, digits_train_val, train_val
from rdia.models import logreg
from rdia.models import softmax as softmax_lr
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax

C = 0.1


def random_logits(n=40, k=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, k)), rng.integers(0, k, size=n)


def test_complementary_loss_is_minus_log_one_minus_p_y():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(relabel.complementary_loss(proba, np.array([0, 2])),
                               [-np.log(0.3), -np.log(0.2)])


def test_complementary_loss_clamps_at_eps():
    proba = np.array([[1.0, 0.0]])
    assert relabel.complementary_loss(proba, np.array([0]))[0] == pytest.approx(
        -np.log(relabel.EPS))


def test_binary_complementary_loss_is_the_log_loss_of_the_flipped_label():
    X, y, *_ = train_val(n_train=50, n_val=1)
    w = np.random.default_rng(1).normal(size=X.shape[1])
    margin = X @ w
    np.testing.assert_allclose(relabel.complementary_loss_binary(margin, y),
                               logreg.sample_losses(w, X, 1 - y), rtol=1e-9)
    # The same through the K-class form with two softmax logits (0, margin).
    proba = softmax(np.stack([np.zeros_like(margin), margin], axis=1), axis=1)
    np.testing.assert_allclose(relabel.complementary_loss(proba, y.astype(int)),
                               logreg.sample_losses(w, X, 1 - y), rtol=1e-9)


def test_gradient_of_l_R_is_the_negative_multiple_of_the_ce_gradient():
    """docs/method.md 2: grad l_R = -(p_y / (1 - p_y)) grad l, checked by finite differences."""
    logits, y = random_logits()
    proba = softmax(logits, axis=1)
    grad = relabel.complementary_loss_grad_logits(proba, y)
    eps = 1e-6
    numeric = np.zeros_like(logits)
    for k in range(logits.shape[1]):
        step = np.zeros_like(logits)
        step[:, k] = eps
        numeric[:, k] = (relabel.complementary_loss(softmax(logits + step, axis=1), y)
                         - relabel.complementary_loss(softmax(logits - step, axis=1), y)
                         ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    rows = np.arange(len(y))
    onehot = np.eye(logits.shape[1])[y]
    p_y = proba[rows, y]
    ce_grad = proba - onehot
    np.testing.assert_allclose(grad, -(p_y / (1 - p_y))[:, None] * ce_grad, rtol=1e-10)


def test_harmful_mask_is_strictly_above_alpha():
    phi = np.array([-1.0, 0.0, 0.0002, 0.00021, 3.0])
    np.testing.assert_array_equal(relabel.harmful_mask(phi, 0.0002),
                                  [False, False, False, True, True])
    with pytest.raises(ValueError):
        relabel.harmful_mask(phi, -0.1)


def test_relabel_binary_flips_only_the_mask():
    y = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(
        relabel.relabel_binary(y, np.array([True, False, True, False])), [1, 1, 0, 0])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


@pytest.mark.parametrize("sparse", [False, True])
def test_relabeling_harmful_samples_beats_removing_them(sparse):
    """The theorem of docs/method.md 2, checked by refitting.

    For a harmful z_i (phi_i > 0), removing it changes V = C x summed validation
    log-loss by about -phi_i, and relabeling it with R by about -phi_i / (1 - p_y),
    where p_y is the model's probability of the observed label. So relabeling lowers
    V more than removal. For each of the ten most harmful samples we refit both
    ways and compare.
    """
    X, y, X_val, y_val, _ = train_val(n_train=300, sparse=sparse, noise=0.3, seed=5)
    w = logreg.fit(X, y, C, tol=1e-10)
    phi = influence.influence(Logistic(), w, X, y, X_val, y_val, C)

    def V(w_):
        return C * logreg.sample_losses(w_, X_val, y_val).sum()

    base = V(w)
    everyone = np.arange(len(y))
    for i in np.argsort(phi)[::-1][:10]:
        assert phi[i] > 0
        removed = V(logreg.fit(X[everyone != i], y[everyone != i], C, tol=1e-10))
        flip = np.zeros(len(y), bool)
        flip[i] = True
        relabeled = V(logreg.fit(X, relabel.relabel_binary(y, flip), C, tol=1e-10))
        assert relabeled < removed < base
        # The first-order prediction for relabeling holds as well.
        p_y = logreg.predict_proba(w, X[i:i + 1])[0]
        p_y = p_y if y[i] == 1 else 1 - p_y
        assert relabeled - base == pytest.approx(-phi[i] / (1 - p_y), rel=0.25)


def test_relabeling_beats_removing_with_k_classes_on_digits():
    """The theorem of docs/method.md 2 for softmax regression, checked by refitting.

    With K classes R(z) keeps x and y and trains l_R = -log(1 - p_y) ("not y"). Its
    gradient is -(p_y / (1 - p_y)) times that of -log p_y, so relabeling = removing z
    plus adding R(z) changes V = C x summed validation cross-entropy by about
    -phi_i - phi_i p_y / (1 - p_y) = -phi_i / (1 - p_y). For each of the ten most
    harmful of 300 noisy digits (K = 10) we refit both ways, warm-started at the
    full fit (l_R makes J non-convex for K > 2; the refit stays in the basin of the
    first-order prediction).
    """
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, noise=0.3, seed=3)
    W = softmax_lr.fit(X, y, C, n_classes=10, tol=1e-10)
    phi = influence.influence(Softmax(10), W, X, y, X_val, y_val, C)

    def V(W_):
        return C * softmax_lr.sample_losses(W_, X_val, y_val).sum()

    base = V(W)
    everyone = np.arange(len(y))
    p_y = softmax_lr.predict_proba(W, X)[everyone, y]
    for i in np.argsort(phi)[::-1][:10]:
        assert phi[i] > 0
        removed = V(softmax_lr.fit(X[everyone != i], y[everyone != i], C, n_classes=10,
                                tol=1e-8, W0=W))
        relabeled = V(softmax_lr.fit(X, y, C, n_classes=10, relabeled=everyone == i,
                                  tol=1e-8, W0=W))
        assert relabeled < removed < base
        assert relabeled - base == pytest.approx(-phi[i] / (1 - p_y[i]), rel=0.25)


# --------------------------------------------------------------------------- find_harmful

def label_kinds(y):
    """The same labels as {0, 1}, {-1, +1} and text (0 is malignant in sklearn's data)."""
    names = np.array(["malignant", "benign"], dtype=object)
    return {"0/1": y, "-1/+1": 2 * y - 1, "text": names[y]}


@pytest.mark.parametrize("kind", ["0/1", "-1/+1", "text", "frame"])
def test_find_harmful_gives_the_same_mask_for_any_labels_and_a_frame(kind):
    import pandas as pd

    X, y, X_val, y_val, _ = breast_cancer_noisy(seed=0)
    reference = rdia.find_harmful(X, y, X_val, y_val)
    if kind == "frame":
        columns = [f"f{j}" for j in range(X.shape[1])]
        mask = rdia.find_harmful(pd.DataFrame(X, columns=columns), y,
                                    pd.DataFrame(X_val, columns=columns), y_val)
    else:
        mask = rdia.find_harmful(X, label_kinds(y)[kind], X_val,
                                    label_kinds(y_val)[kind])
    assert mask.dtype == bool and mask.shape == y.shape
    assert 0 < reference.sum() < len(y)
    np.testing.assert_array_equal(mask, reference)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_find_harmful_finds_flipped_cancer_labels_with_precision_at_least_08(seed):
    """Breast cancer (sklearn's bundled copy), 400 training rows with 20% of the labels
    flipped, 169 clean validation rows, all seeded. At the paper's alpha = 0.01 the
    suspects are mostly flipped labels (precision measured here: 0.82 to 0.96 over
    these seeds), and most flipped labels are suspects."""
    X, y, X_val, y_val, flipped = breast_cancer_noisy(n_train=400, noise=0.2, seed=seed)
    harmful = rdia.find_harmful(X, y, X_val, y_val, alpha=0.01)
    hits = np.sum(harmful & flipped)
    assert hits / harmful.sum() >= 0.8
    assert hits / flipped.sum() >= 0.75


def test_find_harmful_returns_phi_of_the_method_on_sparse_input():
    X, y, X_val, y_val, _ = train_val(n_train=200, n_val=80, sparse=True, seed=6)
    harmful, phi = rdia.find_harmful(X, y, X_val, y_val, alpha=0.0002,
                                        return_scores=True)
    w = logreg.fit(X, y, C)
    reference = influence.influence(Logistic(), w, X, y, X_val, y_val, C)
    np.testing.assert_allclose(phi, reference, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(harmful, phi > 0.0002)


def test_find_harmful_with_k_classes_uses_softmax():
    X, y, X_val, y_val, noisy = digits_train_val(n_train=300, n_val=150, noise=0.3)
    words = np.array(list("abcdefghij"), dtype=object)
    harmful, phi = rdia.find_harmful(X, words[y], X_val, words[y_val], alpha=0.001,
                                        return_scores=True)
    reference = influence.influence(Softmax(10), softmax_lr.fit(X, y, C, n_classes=10),
                                    X, y, X_val, y_val, C)
    np.testing.assert_allclose(phi, reference, rtol=1e-4, atol=1e-8)
    assert np.sum(harmful & noisy) / harmful.sum() > 0.8


@pytest.mark.parametrize("change, words", [
    (dict(alpha=-0.1), "alpha must be"),
    (dict(alpha=float("nan")), "alpha must be"),
    (dict(model="tree"), "model must be one of"),
    (dict(labels_val="UNSEEN"), "label 5 (row 1) does not occur"),
    (dict(X_val="NARROW"), "X_val has 3 features but X has 6"),
    (dict(X="FRAME", X_val="RENAMED"), "X_val's column 4 is 'z' but X's is 'x4'"),
])
def test_find_harmful_bad_input_is_a_value_error(change, words):
    import re

    X, y, X_val, y_val, _ = train_val(n_train=60, n_val=20)
    args = dict(X=X, labels=y, X_val=X_val, labels_val=y_val)
    import pandas as pd

    values = {"UNSEEN": np.where(np.arange(20) == 0, 5, y_val), "NARROW": X_val[:, :3],
              "FRAME": pd.DataFrame(X).add_prefix("x"),
              "RENAMED": pd.DataFrame(X_val).add_prefix("x").rename(columns={"x4": "z"})}
    options = {}
    for key, value in change.items():
        value = values.get(value, value) if isinstance(value, str) else value
        (args if key in args else options)[key] = value
    with pytest.raises(ValueError, match=re.escape(words)):
        rdia.find_harmful(args["X"], args["labels"], args["X_val"], args["labels_val"],
                             **options)
