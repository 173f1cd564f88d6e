"""Tests of selection.py: schedule, partition, the named RDIA-LS losses, co-teaching."""

import math

import numpy as np
import pytest
import torch

from rdia import relabel
from rdia import selection
from rdia.models.networks import MLP


def seeded_batch(B=12, K=10, seed=0, scale=3.0):
    """Logits of shape (B, K) with spread-out values and labels, float64."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, K, generator=g, dtype=torch.float64) * scale
    y = torch.randint(0, K, (B,), generator=g)
    return logits, y


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------
# Schedule arithmetic


@pytest.mark.parametrize("epoch, tau, num_gradual, expected", [
    (0, 0.8, 10, 0.0),
    (1, 0.9, 10, 0.1),
    (3, 0.9, 10, 0.3),
    (9, 0.8, 10, 0.8),
    (10, 0.8, 10, 0.8),
    (199, 0.8, 10, 0.8),
    (2, 0.5, 5, 0.25),
    (0, 0.5, 1, 0.0),
    (1, 0.5, 1, 0.5),
    (0, 0.5, 0, 0.5),
])
def test_forget_rate_rises_linearly_to_tau(epoch, tau, num_gradual, expected):
    assert selection.forget_rate(epoch, tau, num_gradual) == pytest.approx(expected)


@pytest.mark.parametrize("warmup, warm_epochs", [(10, list(range(10))), (1, [0]), (0, [])])
def test_warmup_covers_the_first_epochs(warmup, warm_epochs):
    got = [e for e in range(30) if selection.is_warmup(e, warmup)]
    assert got == warm_epochs


@pytest.mark.parametrize("B, f, r, warmup, expected", [
    # the paper's MNIST setting after warm-up: floor(0.2*128)=25, floor(0.4*128)=51
    (128, 0.8, 0.8, False, (25, 52, 51)),
    # same forget rate during warm-up: everything outside K is ignored
    (128, 0.8, 0.8, True, (25, 0, 103)),
    (128, 0.0, 0.8, True, (128, 0, 0)),
    # the last partial batch of MNIST (60000 = 468 * 128 + 96)
    (96, 0.8, 0.8, False, (19, 39, 38)),
    # r * B / 2 < 1: no drop set
    (128, 0.01, 0.01, False, (126, 2, 0)),
    (10, 0.1, 0.1, False, (9, 1, 0)),
    # (1 - 0.9) * 10 is 0.9999999999999998 in floating point; the guard gives 1
    (10, 0.9, 0.2, False, (1, 8, 1)),
    # tau below r / 2: the keep set wins, the drop set shrinks
    (100, 0.1, 0.8, False, (90, 0, 10)),
    # a batch of one sample
    (1, 0.8, 0.8, False, (0, 1, 0)),
    (1, 0.8, 0.8, True, (0, 0, 1)),
])
def test_partition_sizes(B, f, r, warmup, expected):
    sizes = selection.partition_sizes(B, f, r, warmup)
    assert sizes == expected
    assert sum(sizes) == B


def test_rank_partition_orders_by_loss_and_covers_the_batch():
    losses = torch.tensor([0.5, 2.0, 0.1, 3.0, 0.7, 0.2, 1.5, 0.9])
    part = selection.rank_partition(losses, 3, 2)
    assert part.keep.tolist() == [2, 5, 0]
    assert part.unsure.tolist() == [4, 7]
    assert part.drop.tolist() == [6, 1, 3]


def test_rank_partition_breaks_ties_by_batch_order():
    part = selection.rank_partition(torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0]), 2, 2)
    assert part.keep.tolist() == [1, 3]
    assert part.unsure.tolist() == [0, 2]
    assert part.drop.tolist() == [4]


def test_empty_drop_set_is_empty_not_the_whole_batch():
    # The published code slices sorted[-n_drop:], which for n_drop = 0 is everything.
    losses = torch.arange(10.0)
    n_keep, n_unsure, n_drop = selection.partition_sizes(10, 0.1, 0.1, warmup=False)
    part = selection.rank_partition(losses, n_keep, n_unsure)
    assert n_drop == 0 and part.drop.numel() == 0
    assert part.unsure.tolist() == [9]


# ----------------------------------------------------------------------------
# The complementary loss l_R


def test_complementary_loss_matches_relabel_including_the_clamp():
    logits, y = seeded_batch(B=20, scale=4.0)
    logits[0, y[0]] = 40.0     # p_y = 1 - 1e-16: clamped at 1e-7
    logits[1, y[1]] = -40.0    # p_y ~ 0: l_R ~ 0
    got = selection.complementary_loss(logits, y).numpy()
    proba = softmax_np(logits.numpy())
    expected = relabel.complementary_loss(proba, y.numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert got[0] == pytest.approx(-math.log(1e-7))


def test_complementary_loss_gradient_against_relabel_on_logits():
    logits, y = seeded_batch(B=16, scale=2.0)
    logits.requires_grad_(True)
    selection.complementary_loss(logits, y).sum().backward()
    expected = relabel.complementary_loss_grad_logits(
        softmax_np(logits.detach().numpy()), y.numpy())
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sample", [0, 1, 2, 3])
def test_gradient_identity_on_network_parameters(sample):
    """grad_theta l_R = -(p_y / (1 - p_y)) grad_theta CE (docs/method.md section 2)."""
    torch.manual_seed(sample)
    net = MLP(n_inputs=6, n_hidden=5, n_classes=4).double()
    x = torch.randn(1, 6, dtype=torch.float64) * 2
    y = torch.tensor([sample % 4])
    params = list(net.parameters())
    grad_ce = torch.autograd.grad(selection.cross_entropy(net(x), y).sum(), params)
    grad_lr = torch.autograd.grad(selection.complementary_loss(net(x), y).sum(), params)
    p_y = torch.softmax(net(x), dim=1)[0, y[0]].item()
    assert 0.0 < p_y < 1.0
    for g_ce, g_lr in zip(grad_ce, grad_lr):
        torch.testing.assert_close(g_lr, -(p_y / (1 - p_y)) * g_ce, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------
# The RDIA-LS loss


def test_loss_value_is_the_gamma_weighted_means_of_its_sets():
    logits, y = seeded_batch(B=12)
    part = selection.rank_partition(selection.cross_entropy(logits, y), 4, 5)
    gamma = 0.2
    z, t = logits.numpy(), y.numpy()
    p = softmax_np(z)
    ce = -np.log(p[np.arange(12), t])
    l_r = -np.log(np.maximum(1 - p[np.arange(12), t], 1e-7))
    keep, unsure = part.keep.numpy(), part.unsure.numpy()
    expected = gamma * ce[keep].mean() + (1 - gamma) * l_r[unsure].mean()
    got = selection.rdia_ls_loss(logits, y, part, gamma, warmup=False)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    warm = selection.rdia_ls_loss(logits, y, part, gamma, warmup=True)
    assert warm.item() == pytest.approx(ce[keep].mean(), rel=1e-12)


def test_each_sample_gets_the_gradient_of_the_set_the_loss_ranks_it_into():
    """Keep rows get the CE gradient, unsure rows the l_R gradient, drop rows none."""
    B, gamma = 16, 0.3
    logits, y = seeded_batch(B=B, seed=3)
    logits.requires_grad_(True)
    ce = selection.cross_entropy(logits, y)
    n_keep, n_unsure, n_drop = selection.partition_sizes(B, 0.5, 0.5, warmup=False)
    assert (n_keep, n_unsure, n_drop) == (8, 4, 4)
    part = selection.rank_partition(ce, n_keep, n_unsure)
    selection.rdia_ls_loss(logits, y, part, gamma, warmup=False, ce=ce).backward()

    z, t = logits.detach().numpy(), y.numpy()
    p = softmax_np(z)
    ce_np = -np.log(p[np.arange(B), t])
    order = np.argsort(ce_np, kind="stable")
    keep, unsure, drop = order[:8], order[8:12], order[12:]
    onehot = np.eye(10)[t]
    grad = logits.grad.numpy()
    np.testing.assert_allclose(grad[keep], gamma / 8 * (p - onehot)[keep], rtol=1e-9)
    np.testing.assert_allclose(
        grad[unsure],
        (1 - gamma) / 4 * relabel.complementary_loss_grad_logits(p, t)[unsure], rtol=1e-9)
    np.testing.assert_array_equal(grad[drop], 0.0)
    # the drop set holds the largest losses of the batch
    assert ce_np[drop].min() >= ce_np[unsure].max() >= ce_np[unsure].min() >= ce_np[keep].max()


@pytest.mark.parametrize("loss", list(selection.LOSSES))
@pytest.mark.parametrize("sizes, warmup", [
    ((0, 0, 5), False),   # nothing to train on
    ((0, 3, 2), False),   # empty keep set
    ((4, 0, 1), False),   # empty unsure set
    ((5, 0, 0), False),   # r * B / 2 < 1
    ((0, 0, 5), True),
])
def test_empty_sets_give_finite_loss_and_gradient(loss, sizes, warmup):
    logits, y = seeded_batch(B=5)
    logits.requires_grad_(True)
    part = selection.rank_partition(selection.cross_entropy(logits, y), sizes[0], sizes[1])
    value = selection.batch_loss(logits, y, part, 0.2, warmup, loss)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()


def test_unknown_loss_is_refused_in_one_line():
    logits, y = seeded_batch(B=4)
    part = selection.rank_partition(selection.cross_entropy(logits, y), 2, 1)
    with pytest.raises(ValueError, match="unknown loss 'paper'; use one of published, "
                                         "method") as info:
        selection.batch_loss(logits, y, part, 0.2, False, loss="paper")
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------
# The named losses, each against its formula written out with torch ops


def explicit_terms(z, t):
    """Per-sample quantities of the formulas, computed from their definitions."""
    e = torch.exp(z - z.max(dim=1, keepdim=True).values)
    p = e / e.sum(dim=1, keepdim=True)                      # softmax(z)
    rows = torch.arange(len(t))
    e2 = torch.exp(p)
    q = e2 / e2.sum(dim=1, keepdim=True)                    # softmax(softmax(z))
    return {"ce": -torch.log(p[rows, t]),                   # CE of the logits
            "ce_of_p": -torch.log(q[rows, t]),              # CE of the probabilities
            "l_r": -torch.log(torch.clamp(1 - p[rows, t], min=1e-7))}


def expected_loss(name, z, t, keep, unsure, n_drop, gamma, warmup):
    """The loss ``name`` of docs/method.md section 5 and the brief, written out in full."""
    B, n_keep = len(t), len(keep)
    s = explicit_terms(z, t)
    ce_k, ce_p_k, l_r_u = s["ce"][keep].mean(), s["ce_of_p"][keep].mean(), s["l_r"][unsure].mean()
    if warmup:
        return {"method": ce_k, "keep-on-softmax": ce_k, "unsure-over-batch": ce_k,
                "warmup-over-keep": ce_k / n_keep, "published": ce_k / n_keep,
                "published-no-keep-on-softmax": ce_k / n_keep,
                "published-no-unsure-over-batch": ce_k / n_keep,
                "published-no-warmup-over-keep": ce_k}[name]
    return {
        "method": gamma * ce_k + (1 - gamma) * l_r_u,
        "keep-on-softmax": gamma * ce_p_k + (1 - gamma) * l_r_u,
        "unsure-over-batch": gamma * ce_k + (1 - gamma) / B * l_r_u,
        "warmup-over-keep": gamma * ce_k + (1 - gamma) * l_r_u,
        "published": gamma * ce_p_k + (1 - gamma) / B * l_r_u - n_drop,
        "published-no-keep-on-softmax": gamma * ce_k + (1 - gamma) / B * l_r_u - n_drop,
        "published-no-unsure-over-batch": gamma * ce_p_k + (1 - gamma) * l_r_u - n_drop,
        "published-no-warmup-over-keep": gamma * ce_p_k + (1 - gamma) / B * l_r_u - n_drop,
    }[name]


def ranked_batch(B=32, seed=7, warmup=False, clamped=False):
    """A float64 batch ranked into the sets of the paper's setting (f = r = 0.8).

    With ``clamped``, one unsure sample then gets p_y = 1 - 1e-17 (its logit raised by
    40 after the ranking), so that its l_R sits at the clamp 1 - p_y >= 1e-7.
    """
    logits, y = seeded_batch(B=B, seed=seed, scale=5.0)
    sizes = selection.partition_sizes(B, 0.8, 0.8, warmup)
    part = selection.rank_partition(selection.cross_entropy(logits, y), sizes[0], sizes[1])
    if clamped:
        u = part.unsure[0]
        logits[u, y[u]] += 40.0
    return logits, y, part, sizes


def test_ranked_batch_has_the_papers_set_sizes():
    logits, y, part, sizes = ranked_batch(warmup=False, clamped=True)
    u = part.unsure[0]
    assert 1 - torch.softmax(logits[u], dim=0)[y[u]].item() < 1e-7    # at the clamp
    # floor(0.2 * 32) = 6 kept, floor(0.4 * 32) = 12 dropped, 14 unsure
    assert sizes == (6, 14, 12)
    assert (part.keep.numel(), part.unsure.numel(), part.drop.numel()) == sizes
    assert selection.partition_sizes(32, 0.8, 0.8, True) == (6, 0, 26)


@pytest.mark.parametrize("warmup, clamped", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("name", list(selection.LOSSES))
def test_named_loss_value_and_gradient_follow_its_formula(name, warmup, clamped):
    gamma = 0.2
    logits, y, part, sizes = ranked_batch(warmup=warmup, clamped=clamped)
    z = logits.clone().requires_grad_(True)
    got = selection.batch_loss(z, y, part, gamma, warmup, loss=name)
    got.backward()
    z_ref = logits.clone().requires_grad_(True)
    expected = expected_loss(name, z_ref, y, part.keep, part.unsure, sizes[2], gamma, warmup)
    expected.backward()
    assert got.item() == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    torch.testing.assert_close(z.grad, z_ref.grad, rtol=1e-9, atol=1e-12)


def test_the_losses_differ_on_the_batch():
    """The formulas are not accidentally equal on the test batch (else the test above
    could not tell them apart)."""
    logits, y, part, _ = ranked_batch(warmup=False)
    values = {name: selection.batch_loss(logits, y, part, 0.2, False, name).item()
              for name in selection.LOSSES}
    # two pairs differ in warm-up only
    assert len({round(v, 6) for v in values.values()}) == len(values) - 2
    assert values["warmup-over-keep"] == values["method"]
    assert values["published-no-warmup-over-keep"] == values["published"]
    warm = {name: selection.batch_loss(logits, y, part, 0.2, True, name).item()
            for name in ("method", "warmup-over-keep")}
    assert warm["warmup-over-keep"] == pytest.approx(warm["method"] / 6, rel=1e-12)


def changed_switches(name, base):
    """The switches of a named loss that differ from those of another."""
    return [key for key, value in selection.LOSSES[name]._asdict().items()
            if value != getattr(selection.LOSSES[base], key)]


@pytest.mark.parametrize("field", ["keep_on_softmax", "unsure_over_batch", "warmup_over_keep"])
def test_ablations_add_one_ingredient_to_the_method_or_remove_one_from_published(field):
    assert not any(selection.LOSSES["method"])
    assert all(selection.LOSSES["published"])                # every quirk of the code
    spelled = field.replace("_", "-")
    assert changed_switches(spelled, "method") == [field]
    assert changed_switches(f"published-no-{spelled}", "published") == [field]
    assert selection.DEFAULT_LOSS == "published"


def test_the_constant_minus_d_moves_the_value_not_the_gradient():
    logits, y, part, sizes = ranked_batch(warmup=False)
    with_constant = selection.LOSSES["published"]
    without = with_constant._replace(minus_drop=False)
    grads, values = [], []
    for ingredients in (with_constant, without):
        z = logits.clone().requires_grad_(True)
        value = selection.rdia_ls_loss(z, y, part, 0.2, False, ingredients)
        value.backward()
        grads.append(z.grad)
        values.append(value.item())
    assert values[0] - values[1] == pytest.approx(-sizes[2], rel=1e-12)
    assert torch.equal(grads[0], grads[1])


def published_formula(z, t, keep, unsure, n_drop, gamma, warmup):
    """The published RDIA-LS loss, from its description, in numpy."""
    B = len(t)
    p = softmax_np(z)
    if warmup:
        ce = -np.log(p[keep, t[keep]])
        return ce.mean() / len(keep)
    q = softmax_np(p)                       # softmax of the probabilities
    keep_term = -np.log(q[keep, t[keep]]).mean()
    unsure_term = -np.log(np.clip(1 - p[unsure, t[unsure]], 1e-7, 1)).mean()
    return gamma * keep_term + (1 - gamma) * unsure_term / B - n_drop


@pytest.mark.parametrize("warmup, clamped", [(False, False), (False, True), (True, False)])
def test_published_loss_matches_the_numpy_formula(warmup, clamped):
    logits, y, part, sizes = ranked_batch(warmup=warmup, clamped=clamped)
    got = selection.batch_loss(logits, y, part, 0.2, warmup, loss="published")
    expected = published_formula(logits.numpy(), y.numpy(), part.keep.numpy(),
                                 part.unsure.numpy(), sizes[2], 0.2, warmup)
    assert got.item() == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------
# Co-teaching


def test_coteaching_trains_each_network_on_the_others_small_loss_samples():
    logits1, y = seeded_batch(B=20, seed=1)
    logits2, _ = seeded_batch(B=20, seed=2)
    loss1, loss2, keep1, keep2 = selection.coteaching_losses(logits1, logits2, y, 6)
    t = y.numpy()
    ce1 = -np.log(softmax_np(logits1.numpy())[np.arange(20), t])
    ce2 = -np.log(softmax_np(logits2.numpy())[np.arange(20), t])
    small1, small2 = np.argsort(ce1)[:6], np.argsort(ce2)[:6]
    assert set(keep1.tolist()) == set(small1) and set(keep2.tolist()) == set(small2)
    assert set(small1) != set(small2)
    assert loss1.item() == pytest.approx(ce1[small2].mean(), rel=1e-12)
    assert loss2.item() == pytest.approx(ce2[small1].mean(), rel=1e-12)
