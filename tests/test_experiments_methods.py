"""Tests of experiments/methods.py: the registry, each method's batch losses, rdia-if's hook."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rdia.experiments import deep, methods
from rdia.models import networks

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------
# The registry


def test_the_registry_holds_every_method_of_the_config_once():
    assert set(methods.METHODS) == {"rdia-ls", "rdia-if", "ce", "coteaching"}
    for name, method in methods.METHODS.items():
        assert method.name == name
        assert methods.method_of(deep.LSConfig(method=name)) is method
    with pytest.raises(deep.ConfigError, match="unknown method 'rdia'"):
        deep.LSConfig(method="rdia")


@pytest.mark.parametrize("name, count", [("ce", 1), ("rdia-ls", 1), ("rdia-if", 1),
                                         ("coteaching", 2)])
def test_each_method_builds_its_own_number_of_networks(name, count):
    config = deep.LSConfig(method=name).resolved()
    nets, optimizers = deep.build_networks(config, torch.device("cpu"))
    assert len(nets) == len(optimizers) == count
    # the same seed initialises the first network alike whatever the method
    first = deep.build_networks(deep.LSConfig(method="ce").resolved(), torch.device("cpu"))[0]
    torch.testing.assert_close(nets[0].out.weight, first[0].out.weight, rtol=0, atol=0)


def test_a_setting_read_by_another_method_does_not_change_a_run():
    base = deep.LSConfig(method="ce", noise_rate=0.8)
    for name in methods.RdiaLS.reads + methods.RdiaIf.reads:
        value = {"loss": "method", "gamma": 0.5, "alpha": 0.01, "if_warmup": 2,
                 "if_every": 3, "if_damping": 1e-3, "if_holdout": 4}[name]
        other = dataclasses.replace(base, **{name: value})
        assert deep.result_settings(other) == deep.result_settings(base)
        assert deep.run_name(other) == deep.run_name(base)


#: A method name compared with == or != as a string literal, e.g. ``== "ce"``.
NAME_COMPARISON = re.compile(r"""[=!]=\s*["'](ce|coteaching|rdia-ls|rdia-if)["']|"""
                             r"""["'](ce|coteaching|rdia-ls|rdia-if)["']\s*[=!]=""")


def test_no_method_name_is_compared_as_a_string_outside_the_registry():
    sources = [*ROOT.glob("rdia/**/*.py"), *ROOT.glob("benchmarks/*.py"),
               ROOT / "RDIA-LS.py", ROOT / "reproduce.py"]
    found = [f"{path.relative_to(ROOT)}: {line.strip()}" for path in sources
             for line in path.read_text().splitlines() if NAME_COMPARISON.search(line)]
    assert len(sources) > 20 and found == []
    assert NAME_COMPARISON.search('if config.method == "coteaching":')


# ----------------------------------------------------------------------------
# Batch losses, against the definitions written out


def batch(seed=0, B=12, K=10):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, K, generator=generator, dtype=torch.float64)
    return logits, torch.randint(0, K, (B,), generator=generator)


def test_ce_is_the_mean_cross_entropy_of_every_sample():
    logits, y = batch()
    config = deep.LSConfig(method="ce").resolved()
    (loss,), keep, sizes = methods.METHODS["ce"].batch_losses(
        [logits], y, torch.arange(12), 0.5, False, config, None)
    torch.testing.assert_close(loss, F.cross_entropy(logits, y), rtol=1e-12, atol=0)
    assert keep.tolist() == list(range(12)) and sizes == (12, 0, 0)


def test_coteaching_trains_each_network_on_the_small_losses_of_the_other():
    logits1, y = batch(1)
    logits2, _ = batch(2)
    config = deep.LSConfig(method="coteaching").resolved()
    (loss1, loss2), keep, sizes = methods.METHODS["coteaching"].batch_losses(
        [logits1, logits2], y, torch.arange(12), 0.25, False, config, None)
    ce1 = F.cross_entropy(logits1, y, reduction="none")
    ce2 = F.cross_entropy(logits2, y, reduction="none")
    small1, small2 = np.argsort(ce1.numpy())[:9], np.argsort(ce2.numpy())[:9]  # 75% of 12
    torch.testing.assert_close(loss1, ce1[small2].mean(), rtol=1e-12, atol=0)
    torch.testing.assert_close(loss2, ce2[small1].mean(), rtol=1e-12, atol=0)
    assert sorted(keep.tolist()) == sorted(small1.tolist()) and sizes == (9, 0, 3)


def test_rdia_ls_method_loss_is_gamma_ce_on_keep_plus_l_r_on_unsure():
    logits, y = batch(3, B=20)
    config = deep.LSConfig(method="rdia-ls", loss="method", noise_rate=0.4,
                           gamma=0.3).resolved()
    (loss,), keep, sizes = methods.METHODS["rdia-ls"].batch_losses(
        [logits], y, torch.arange(20), 0.4, False, config, None)
    ce = F.cross_entropy(logits, y, reduction="none")
    order = np.argsort(ce.numpy(), kind="stable")
    n_keep, n_unsure = sizes[0], sizes[1]
    assert n_keep + n_unsure + sizes[2] == 20 and n_keep > 0 and n_unsure > 0
    p_y = torch.softmax(logits, 1)[torch.arange(20), y]
    kept, unsure = order[:n_keep], order[n_keep:n_keep + n_unsure]
    expected = 0.3 * ce[kept].mean() + 0.7 * (-torch.log(1 - p_y[unsure])).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    assert sorted(keep.tolist()) == sorted(kept.tolist())


# ----------------------------------------------------------------------------
# rdia-if


@pytest.mark.parametrize("if_warmup, if_every, due", [
    (4, 1, [4, 5, 6, 7, 8]), (4, 2, [4, 6, 8]), (1, 3, [1, 4, 7])])
def test_phi_is_due_after_the_warmup_then_every_few_epochs(if_warmup, if_every, due):
    config = deep.LSConfig(method="rdia-if", if_warmup=if_warmup, if_every=if_every)
    assert [e + 1 for e in range(8) if methods.influence_due(e, config)] == due


def test_rdia_if_loss_trains_harmful_samples_with_l_r_and_the_others_with_ce():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 10, generator=generator, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    harmful = torch.tensor([True, False, False, True, False, True])
    (loss,), keep, sizes = methods.rdia_if_loss(logits, y, harmful)
    p = torch.softmax(logits, dim=1)[torch.arange(6), y]
    expected = torch.where(harmful, -torch.log(1 - p), -torch.log(p)).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    assert keep.tolist() == [1, 2, 4] and sizes == (3, 3, 0)
    (plain,), keep, sizes = methods.rdia_if_loss(logits, y, None)
    torch.testing.assert_close(plain, -torch.log(p).mean(), rtol=1e-12, atol=0)
    assert sizes == (6, 0, 0) and keep.tolist() == list(range(6))


def test_harmful_stats_against_the_noise_mask():
    harmful = torch.tensor([True, True, True, False, False, False])
    clean = torch.tensor([False, False, True, False, True, True])
    stats = methods.harmful_stats(harmful, clean, 1.23456)
    # 2 of the 3 harmful are noisy; 2 of the 3 noisy are harmful
    assert stats == {"n_harmful": 3, "harmful_precision": pytest.approx(200 / 3),
                     "harmful_recall": pytest.approx(200 / 3), "influence_seconds": 1.235}
    assert methods.harmful_stats(None, clean, 0.0)["harmful_precision"] is None


def dense_last_layer_phi(net, X_train, y_train, X_val, y_val, C):
    """phi through the last layer by a dense solve of the softmax Hessian.

    Features from a hook on the last layer's input (evaluation mode), in float64;
    H = I + C sum_i h_i h_i^T (x) (diag(p_i) - p_i p_i^T) on vec(W), W of shape
    (m + 1, K) with the bias as a feature of value 1; g = C sum_val h_j (x) (p_j - e_j);
    phi_i = -C (p_i - e_i) . (h_i^T S), S = H^-1 g as (m + 1, K).
    """
    seen = []
    hook = net.last_layer.register_forward_hook(lambda module, inputs, output:
                                                seen.append(inputs[0]))
    net.eval()
    with torch.no_grad():
        features = []
        for X in (X_train, X_val):
            seen.clear()
            net(networks.to_float(X))
            h = seen[0].double().numpy()
            features.append(np.hstack([h, np.ones((len(h), 1))]))
    hook.remove()
    H_train, H_val = features
    W = np.vstack([net.last_layer.weight.detach().double().numpy().T,
                   net.last_layer.bias.detach().double().numpy()[None, :]])
    d, K = W.shape

    def probabilities(H):
        z = H @ W
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    P, P_val = probabilities(H_train), probabilities(H_val)
    hessian = np.zeros((d, K, d, K))
    for k in range(K):
        hessian[:, k, :, k] = (H_train * P[:, [k]]).T @ H_train
    A = (H_train[:, :, None] * P[:, None, :]).reshape(len(H_train), d * K)
    hessian = np.eye(d * K) + C * (hessian.reshape(d * K, d * K) - A.T @ A)
    residual_val = P_val - np.eye(K)[y_val]
    g = C * (H_val.T @ residual_val)
    S = np.linalg.solve(hessian, g.ravel()).reshape(d, K)
    return -C * np.sum((P - np.eye(K)[y_train]) * (H_train @ S), axis=1)


def test_harmful_set_is_phi_above_alpha_by_a_dense_solve(shared_data_dir):
    config = deep.LSConfig(method="rdia-if", noise_rate=0.5, subset=400, seed=2,
                           data_dir=str(shared_data_dir), threads=1).resolved()
    arrays, _ = deep.load_data(config)
    val_index, _ = deep.validation_split(arrays["y_test"].numpy(), config.seed)
    phi_index, _ = deep.influence_split(arrays["y_test"].numpy(), val_index, 3)
    tensors = {**arrays, "phi_index": torch.from_numpy(phi_index)}
    torch.manual_seed(0)
    net = networks.build_model("mnist")
    harmful, phi, n_iter = methods.harmful_set(net, tensors, config)
    C = 1.0 / (len(arrays["y_train"]) * config.weight_decay)
    expected = dense_last_layer_phi(net, arrays["X_train"], arrays["y_train"].numpy(),
                                    arrays["X_test"][phi_index],
                                    arrays["y_test"][phi_index].numpy(), C)
    scale = np.abs(expected).max()
    assert scale > 0 and n_iter > 0
    # CG stops at a relative residual of 1e-5 (last_layer.TOL)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-4 * scale)
    clear = np.abs(expected) > 1e-3 * scale
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(harmful.numpy()[clear], expected[clear] > 0)
    alpha = float(np.median(expected[expected > 0]))
    higher = methods.harmful_set(net, tensors, dataclasses.replace(config, alpha=alpha))[0]
    clear = np.abs(expected - alpha) > 1e-3 * scale
    np.testing.assert_array_equal(higher.numpy()[clear], expected[clear] > alpha)
    assert 0 < higher.sum() < harmful.sum()
