"""Tests of last_layer.py: phi through a network's last layer (docs/method.md section 6).

The body of a seeded MLP is frozen and its penultimate features on real MNIST images
are the inputs of the last layer; phi is checked against an explicit Hessian solve,
against leave-one-out retraining of the last layer, and the objective's C against
full-batch training of (mean CE + wd / 2 |W|^2) in torch.
"""

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

from rdia import data
from rdia import influence
from rdia import last_layer
from rdia.models import networks
from rdia.models.softmax import Softmax, sample_losses


def mnist_images(n_train=200, n_val=60, flip=0.2, seed=0):
    """Seeded real MNIST images as uint8 tensors (n, 1, 28, 28), training labels with
    a share ``flip`` moved to the next class, clean validation labels."""
    X, y, X_test, y_test = data.load_mnist()
    rng = np.random.default_rng(seed)
    train = rng.choice(len(y), n_train, replace=False)
    val = rng.choice(len(y_test), n_val, replace=False)
    y_train = np.asarray(y[train], dtype=np.int64).copy()
    flipped = rng.random(n_train) < flip
    y_train[flipped] = (y_train[flipped] + 1) % 10
    as_images = lambda A: torch.from_numpy(np.ascontiguousarray(A.reshape(-1, 1, 28, 28)))
    return (as_images(X[train]), y_train, as_images(X_test[val]),
            np.asarray(y_test[val], dtype=np.int64))


def seeded_mlp(seed=0):
    torch.manual_seed(seed)
    return networks.MLP()


def set_last_layer(net, W):
    """Write W = [weight^T; bias] of shape (m + 1, K) into the network's last layer."""
    with torch.no_grad():
        net.last_layer.weight.copy_(torch.from_numpy(W[:-1].T))
        net.last_layer.bias.copy_(torch.from_numpy(W[-1]))


def test_features_and_weights_give_the_networks_logits():
    X, y, _, _ = mnist_images(n_train=50)
    net = seeded_mlp()
    H = last_layer.features(net, X, batch=16)                 # batches of any size
    assert H.shape == (50, 257) and H.dtype == np.float64
    np.testing.assert_array_equal(H[:, -1], 1.0)
    with torch.no_grad():
        expected = net(networks.to_float(X)).double().numpy()
    np.testing.assert_allclose(H @ last_layer.last_layer_weights(net), expected,
                               rtol=1e-5, atol=1e-5)
    assert net.training                                       # mode given back


@pytest.mark.parametrize("n, weight_decay, damping, expected", [
    (60000, 1e-5, 1e-5, 1 / 0.6), (200, 0.01, 1e-5, 0.5), (200, 0.0, 1e-3, 5.0)])
def test_loss_weight_is_one_over_n_times_the_weight_decay(n, weight_decay, damping, expected):
    assert last_layer.loss_weight(n, weight_decay, damping) == pytest.approx(expected)


def test_zero_weight_decay_needs_a_positive_damping():
    with pytest.raises(ValueError, match="damping"):
        last_layer.loss_weight(100, 0.0, 0.0)


def test_phi_is_the_softmax_influence_of_an_explicit_hessian_solve():
    X, y, X_val, y_val = mnist_images()
    net = seeded_mlp()
    wd = 0.01
    phi = last_layer.last_layer_influence(net, X, y, X_val, y_val, wd,
                                          solver=influence.ConjugateGradient(tol=1e-12))
    # independently: the dense Hessian of J on the features, solved by Cholesky
    H, H_val = last_layer.features(net, X), last_layer.features(net, X_val)
    W, C = last_layer.last_layer_weights(net), 1.0 / (len(y) * wd)
    direct = influence.influence(Softmax(10), W, H, y, H_val, y_val, C,
                                 solver=influence.make_solver("direct"))
    np.testing.assert_allclose(phi, direct, rtol=1e-6, atol=1e-10 * np.abs(direct).max())


@pytest.mark.parametrize("seed", [0, 1])
def test_default_tolerance_keeps_the_harmful_set_of_a_tight_solve(seed):
    X, y, X_val, y_val = mnist_images(seed=seed)
    net = seeded_mlp(seed)
    solver = influence.ConjugateGradient(tol=1e-12)
    tight = last_layer.last_layer_influence(net, X, y, X_val, y_val, 0.01, solver=solver)
    phi = last_layer.last_layer_influence(net, X, y, X_val, y_val, 0.01)
    assert np.abs(phi - tight).max() <= 1e-4 * np.abs(tight).max()
    for alpha in (0.0, 0.002, 0.01):
        assert ((phi > alpha) == (tight > alpha)).all()


def validation_objective(W, H_val, y_val, C):
    """C x summed validation cross-entropy of the last layer W."""
    return C * sample_losses(W, H_val, y_val).sum()


def test_phi_predicts_leave_one_out_retraining_of_the_last_layer():
    X, y, X_val, y_val = mnist_images()
    net = seeded_mlp(1)
    wd = 0.01
    H, H_val = last_layer.features(net, X), last_layer.features(net, X_val)
    C = last_layer.loss_weight(len(y), wd)
    model = Softmax(10, tol=1e-10)
    W = model.fit(H, y, C)
    set_last_layer(net, W)               # the body frozen, the last layer at its minimiser
    phi = last_layer.last_layer_influence(net, X, y, X_val, y_val, wd)
    base = validation_objective(W, H_val, y_val, C)
    chosen = np.random.default_rng(0).choice(len(y), 40, replace=False)
    change = []
    for i in chosen:
        keep = np.arange(len(y)) != i
        W_minus = model.fit(H[keep], y[keep], C, W0=W)
        change.append(validation_objective(W_minus, H_val, y_val, C) - base)
    # removing sample i changes C x summed validation loss by about -phi_i
    r, _ = pearsonr(-phi[chosen], change)
    assert r >= 0.95, r
    assert np.sign(-phi[chosen]) @ np.sign(change) > 0.8 * len(chosen)


def test_full_batch_training_with_weight_decay_has_the_minimiser_of_C():
    """(1/n) sum CE + wd/2 |W|^2, minimised in torch on the frozen body's features,
    and softmax.fit with C = 1 / (n wd) find the same last layer."""
    X, y, _, _ = mnist_images(n_train=150)
    net = seeded_mlp(2)
    wd = 0.02
    H = last_layer.features(net, X)
    W_fit = Softmax(10, tol=1e-10).fit(H, y, last_layer.loss_weight(len(y), wd))
    Ht, yt = torch.from_numpy(H), torch.from_numpy(y)
    W = torch.zeros(H.shape[1], 10, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([W], lr=1.0, max_iter=500, tolerance_grad=1e-12,
                                  tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(Ht @ W, yt) + wd / 2 * (W ** 2).sum()
        loss.backward()
        return loss

    for _ in range(5):
        optimizer.step(closure)
    np.testing.assert_allclose(W.detach().numpy(), W_fit, rtol=0, atol=1e-6 * np.abs(W_fit).max())


def test_adams_weight_decay_is_the_gradient_of_wd_over_two_times_the_squared_norm():
    """What the network's optimiser does with ``weight_decay`` is what the objective
    of the C mapping says: the same steps as Adam on mean CE + wd/2 |W|^2."""
    X, y, _, _ = mnist_images(n_train=64)
    wd = 0.05
    nets = [seeded_mlp(3), seeded_mlp(3)]
    optimizers = [torch.optim.Adam(nets[0].last_layer.parameters(), lr=1e-2, weight_decay=wd),
                  torch.optim.Adam(nets[1].last_layer.parameters(), lr=1e-2)]
    x, t = networks.to_float(X), torch.from_numpy(y)
    for _ in range(5):
        for k, (net, optimizer) in enumerate(zip(nets, optimizers)):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), t)
            if k == 1:
                loss = loss + wd / 2 * sum((p ** 2).sum() for p in net.last_layer.parameters())
            loss.backward()
            optimizer.step()
    for a, b in zip(nets[0].last_layer.parameters(), nets[1].last_layer.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
