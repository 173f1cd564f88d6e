"""Loss-based sample selection of RDIA-LS and co-teaching (docs/method.md section 5).

Inside each mini-batch of B samples, the per-sample cross-entropy (CE) ranks the
samples from most to least trustworthy. At epoch e (0-based) with forget rate f(e):

- keep set K: the floor((1 - f(e)) * B) smallest losses, trained with CE;
- warm-up (the first ``warmup`` epochs): only K is used, the rest is ignored;
- after warm-up, drop set D: the floor(r / 2 * B) largest losses (r = noise rate),
  ignored; unsure set U: everything between K and D, trained with the
  complementary loss l_R = -log(max(1 - p_y, 1e-7)) of ``relabel.py`` (the sample is
  relabeled "not y");
- loss = gamma * mean_K(CE) + (1 - gamma) * mean_U(l_R), gamma in [0, 1] weighting
  the kept samples against the relabeled ones.

f(e) rises linearly from 0 at epoch 0 to tau at epoch ``num_gradual - 1`` and then
stays at tau (the ``np.linspace(0, tau, num_gradual)`` schedule of co-teaching, Han et
al. 2018). Co-teaching trains two networks; each picks its K by its own CE and the
other network is trained with CE on that K.

Edge cases. Sizes are rounded down with a 1e-9 guard against floating-point error
(so (1 - 0.9) * 10 gives 1, not 0). When K and the drop count overlap (tau < r / 2)
K wins and D shrinks. Empty sets are fine: the mean over an empty set is 0, so a
small last batch or r * B / 2 < 1 (no drop set) never gives NaN.

The published RDIA-LS code computes another loss (softmax applied twice before the
keep-set CE, the l_R term divided by B once more, the warm-up loss divided by |K| once
more, a constant -|D|). :data:`LOSSES` names it ``published``, next to ``method`` and
the ablations that add one of its ingredients to the method's loss;
:func:`rdia_ls_loss` writes all of them once, with the ingredients as switches.
"""

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rdia.relabel import EPS

#: Guard added before rounding set sizes down, against floating-point error.
ROUND_GUARD = 1e-9


def forget_rate(epoch, tau, num_gradual):
    """Forget rate f(e) of a 0-based epoch.

    Parameters
    ----------
    epoch : int
        Epoch index e >= 0.
    tau : float
        Final forget rate, in [0, 1].
    num_gradual : int
        Epochs over which f rises from 0 (epoch 0) to tau (epoch num_gradual - 1).
        With num_gradual <= 1, f(0) = 0 when num_gradual is 1 and f = tau otherwise.

    Returns
    -------
    f : float
    """
    if epoch >= num_gradual:
        return float(tau)
    if num_gradual == 1:
        return 0.0
    return float(tau) * epoch / (num_gradual - 1)


def is_warmup(epoch, warmup):
    """Whether a 0-based epoch belongs to the warm-up (only the keep set trains)."""
    return epoch < warmup


def partition_sizes(batch_size, f, noise_rate, warmup):
    """Sizes of the keep, unsure and drop sets of one mini-batch.

    Parameters
    ----------
    batch_size : int
        B, the number of samples in this batch (the last one may be smaller).
    f : float
        Forget rate f(e) of the epoch.
    noise_rate : float
        r; the drop set after warm-up holds floor(r / 2 * B) samples.
    warmup : bool
        During warm-up there is no unsure set: everything outside K is dropped.

    Returns
    -------
    n_keep, n_unsure, n_drop : int
        Non-negative, summing to B.
    """
    n_keep = min(batch_size, math.floor((1.0 - f) * batch_size + ROUND_GUARD))
    if warmup:
        return n_keep, 0, batch_size - n_keep
    n_drop = min(batch_size - n_keep, math.floor(noise_rate / 2 * batch_size + ROUND_GUARD))
    return n_keep, batch_size - n_keep - n_drop, n_drop


class BatchSplit(NamedTuple):
    """Indices (into the batch) of the keep, unsure and drop sets, as long tensors."""

    keep: torch.Tensor
    unsure: torch.Tensor
    drop: torch.Tensor


def rank_partition(losses, n_keep, n_unsure):
    """Split a batch by ascending loss into keep, unsure and drop sets.

    Parameters
    ----------
    losses : Tensor of shape (B,)
        Per-sample loss; only its order matters (ties keep batch order).
    n_keep, n_unsure : int
        Sizes of the keep and unsure sets; the drop set is the rest.

    Returns
    -------
    partition : BatchSplit
        keep: the n_keep smallest losses; unsure: the next n_unsure; drop: the rest.
    """
    order = torch.argsort(losses.detach(), stable=True)
    return BatchSplit(order[:n_keep], order[n_keep:n_keep + n_unsure],
                     order[n_keep + n_unsure:])


def cross_entropy(logits, y):
    """Per-sample cross-entropy -log softmax(z)_y, shape (B,), in nats."""
    return F.cross_entropy(logits, y, reduction="none")


def complementary_loss(logits, y):
    """Per-sample complementary loss l_R = -log(max(1 - p_y, EPS)), shape (B,).

    Computed as logsumexp(z) - logsumexp(z without class y), which equals
    -log(1 - p_y) without the cancellation of 1 - p_y in floating point, then
    capped at -log(EPS) (the clamp of docs/method.md section 2; the gradient is 0 there).

    Parameters
    ----------
    logits : Tensor of shape (B, K)
    y : Tensor of shape (B,), int64

    Returns
    -------
    loss : Tensor of shape (B,)
    """
    others = logits.scatter(1, y[:, None], float("-inf"))
    loss = torch.logsumexp(logits, dim=1) - torch.logsumexp(others, dim=1)
    return torch.clamp(loss, max=-math.log(EPS))


def mean_or_zero(values):
    """Mean of a 1-D tensor, 0 (still part of the graph) when it is empty."""
    return values.sum() / max(values.numel(), 1)


class LossIngredients(NamedTuple):
    """Switches of the RDIA-LS loss: which quirks of the published code it carries.

    Every switch off is the method's loss (docs/method.md section 5); every switch on is
    the published code's loss. See :func:`rdia_ls_loss` for the formula.

    Attributes
    ----------
    keep_on_softmax : bool
        After warm-up, the keep-set CE is taken on the probabilities p = softmax(z)
        instead of the logits z (softmax applied twice): -log softmax(p)_y.
    unsure_over_batch : bool
        The l_R term is weighted (1 - gamma) / B instead of (1 - gamma).
    warmup_over_keep : bool
        The warm-up loss mean_K(CE) is divided by |K| once more.
    minus_drop : bool
        After warm-up, the constant -|D| is added. It changes the loss value only,
        never a gradient.
    lr_from_probabilities : bool
        l_R is computed as -log(clamp(1 - p_y, 1e-7, 1)) from p, as the published
        code does, instead of by :func:`complementary_loss`. The same function up
        to rounding; kept so that ``published`` repeats the published code's
        arithmetic bit for bit.
    """

    keep_on_softmax: bool = False
    unsure_over_batch: bool = False
    warmup_over_keep: bool = False
    minus_drop: bool = False
    lr_from_probabilities: bool = False


#: The published code's loss, every quirk switched on.
PUBLISHED = LossIngredients(keep_on_softmax=True, unsure_over_batch=True,
                            warmup_over_keep=True, minus_drop=True,
                            lr_from_probabilities=True)

#: The named RDIA-LS losses: ``method`` (docs/method.md section 5), ``published`` (the
#: published code's loss, quirks included) and the ablations in both directions: the
#: method's loss plus exactly one ingredient of the published one
#: (``keep-on-softmax``, ...), and the published loss without exactly one
#: (``published-no-keep-on-softmax``, ...). The constant -|D| has no ablation: it
#: does not change any gradient.
LOSSES = {
    "published": PUBLISHED,
    "method": LossIngredients(),
    "keep-on-softmax": LossIngredients(keep_on_softmax=True),
    "unsure-over-batch": LossIngredients(unsure_over_batch=True),
    "warmup-over-keep": LossIngredients(warmup_over_keep=True),
    "published-no-keep-on-softmax": PUBLISHED._replace(keep_on_softmax=False),
    "published-no-unsure-over-batch": PUBLISHED._replace(unsure_over_batch=False),
    "published-no-warmup-over-keep": PUBLISHED._replace(warmup_over_keep=False),
}

#: Loss of the paper's command: the published code's, which gives the published number.
DEFAULT_LOSS = "published"


def loss_ingredients(name):
    """The switches of a named loss.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES`.

    Returns
    -------
    ingredients : LossIngredients

    Raises
    ------
    ValueError
        For an unknown name, in one line listing the names.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")
    return LOSSES[name]


def keep_loss(p, y, part, ce):
    """Per-sample keep-set loss, shape (|K|,): CE of the logits, or of the probabilities.

    Parameters
    ----------
    p : Tensor of shape (B, K) or None
        softmax(z) to take the CE on as if it were logits (-log softmax(p)_y, a loss
        bounded by log(1 + (K - 1) e)); None takes the CE of the logits.
    y : Tensor of shape (B,), int64
    part : BatchSplit
    ce : Tensor of shape (B,)
        Per-sample CE of the logits.
    """
    if p is not None:
        return cross_entropy(p[part.keep], y[part.keep])
    return ce[part.keep]


def unsure_loss(logits, p, y, part):
    """Per-sample l_R of the unsure set, shape (|U|,).

    With ``p`` = softmax(z) given, -log(clamp(1 - p_y, EPS, 1)) as the published
    code computes it; with None, :func:`complementary_loss` of the logits.
    """
    if p is not None:
        p_y = p[part.unsure, y[part.unsure]]
        return -torch.log(torch.clamp(1.0 - p_y, min=EPS, max=1.0))
    return complementary_loss(logits[part.unsure], y[part.unsure])


def rdia_ls_loss(logits, y, part, gamma, warmup, ingredients=LOSSES["method"], ce=None):
    """The RDIA-LS loss of one mini-batch, with the published code's quirks as switches.

    With B the batch size, K, U, D the keep, unsure and drop sets, p = softmax(z),
    and every switch of ``ingredients`` off (the method, docs/method.md section 5):

    - warm-up: mean_K(CE(z, y));
    - afterwards: gamma * mean_K(CE(z, y)) + (1 - gamma) * mean_U(l_R).

    Each switch on changes one factor (all on is the published code's loss):

    - ``warmup_over_keep``: the warm-up loss is mean_K(CE(z, y)) / |K|;
    - ``keep_on_softmax``: the keep term is mean_K(-log softmax(p)_y);
    - ``unsure_over_batch``: the l_R term is (1 - gamma) * mean_U(l_R) / B;
    - ``minus_drop``: -|D| is added after warm-up (no effect on gradients);
    - ``lr_from_probabilities``: l_R from p instead of from z (rounding only).

    An empty set contributes 0, where the published code falls back to the whole
    batch for an empty K and gives NaN for an empty U (the case r * B / 2 < 1).

    Parameters
    ----------
    logits : Tensor of shape (B, K)
    y : Tensor of shape (B,), int64
        Observed (possibly noisy) labels.
    part : BatchSplit
        Keep, unsure and drop sets of the batch.
    gamma : float
        Weight of the keep term, in [0, 1].
    warmup : bool
        During warm-up only the keep term counts.
    ingredients : LossIngredients, default=LOSSES["method"]
    ce : Tensor of shape (B,), optional
        Per-sample CE of the logits when already computed (it is, to rank the batch).

    Returns
    -------
    loss : Tensor, scalar
    """
    ce = cross_entropy(logits, y) if ce is None else ce
    n_keep = part.keep.numel()
    if warmup:
        keep_term = mean_or_zero(ce[part.keep])
        return keep_term / max(n_keep, 1) if ingredients.warmup_over_keep else keep_term
    # one softmax node for both terms, as in the published code (two nodes would
    # add their gradients in another order and change the last bits)
    p = None
    if ingredients.keep_on_softmax or ingredients.lr_from_probabilities:
        p = torch.softmax(logits, dim=1)
    keep_term = mean_or_zero(keep_loss(p if ingredients.keep_on_softmax else None,
                                       y, part, ce))
    unsure_term = mean_or_zero(unsure_loss(
        logits, p if ingredients.lr_from_probabilities else None, y, part))
    if ingredients.unsure_over_batch:
        loss = gamma * keep_term + (1.0 - gamma) * unsure_term / logits.shape[0]
    else:
        loss = gamma * keep_term + (1.0 - gamma) * unsure_term
    return loss - float(part.drop.numel()) if ingredients.minus_drop else loss


def batch_loss(logits, y, part, gamma, warmup, loss=DEFAULT_LOSS, ce=None):
    """RDIA-LS loss of a batch under a named loss (a key of :data:`LOSSES`).

    Raises
    ------
    ValueError
        For an unknown loss name.
    """
    return rdia_ls_loss(logits, y, part, gamma, warmup, loss_ingredients(loss), ce=ce)


def coteaching_losses(logits1, logits2, y, n_keep):
    """Co-teaching losses of one batch (Han et al. 2018).

    Each network ranks the batch by its own CE and keeps its n_keep smallest losses;
    each network is then trained with CE on the samples the *other* one kept.

    Parameters
    ----------
    logits1, logits2 : Tensor of shape (B, K)
        Outputs of the two networks.
    y : Tensor of shape (B,), int64
    n_keep : int
        floor((1 - f(e)) * B).

    Returns
    -------
    loss1, loss2 : Tensor, scalar
        mean CE of network 1 on the set kept by network 2, and the reverse.
    keep1, keep2 : Tensor of shape (n_keep,)
        Batch indices each network kept.
    """
    ce1, ce2 = cross_entropy(logits1, y), cross_entropy(logits2, y)
    keep1 = rank_partition(ce1, n_keep, 0).keep
    keep2 = rank_partition(ce2, n_keep, 0).keep
    return mean_or_zero(ce1[keep2]), mean_or_zero(ce2[keep1]), keep1, keep2
