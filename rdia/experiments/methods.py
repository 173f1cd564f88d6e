"""The training methods of the deep experiment, as objects (docs/method.md sections 5, 6).

Every method that ``RDIA-LS.py --method`` accepts is one object of :data:`METHODS`,
and the training loop of ``experiments/deep.py`` asks it everything that differs
between methods:

- how many networks it trains (:attr:`Method.n_networks`);
- which settings only it reads (:attr:`Method.reads`), and how they enter the run's
  name (:meth:`Method.name_parts`, :attr:`Method.named_settings`);
- the loss of each network on one mini-batch and the keep / unsure / drop sets
  (:meth:`Method.batch_losses`);
- what it does at the end of an epoch, with the state it carries from one epoch to
  the next (:meth:`Method.start`, :meth:`Method.end_epoch`): ``rdia-if`` computes phi
  there and keeps the harmful set {phi > alpha} until the next computation.

The methods:

- ``ce``: cross-entropy on every sample;
- ``coteaching``: two networks, each trained on the small-loss samples of the other;
- ``rdia-ls``: keep / unsure / drop sets by per-sample CE inside each mini-batch, CE on
  the keep set and the complementary loss l_R on the unsure set, with one of the
  losses of ``selection.LOSSES`` (``config.loss``);
- ``rdia-if``: cross-entropy on every sample for ``if_warmup`` epochs; then, every
  ``if_every`` epochs, phi of every training sample through the last layer
  (``last_layer.py``) against the held-out validation images, and until the next
  computation the samples with phi > alpha train with l_R, the others with CE.

A method is never named by comparing strings outside this module: code that needs
one looks it up with :func:`method_of`.
"""

import dataclasses
import time

import torch
from threadpoolctl import threadpool_limits

from rdia import influence
from rdia import last_layer
from rdia import selection

#: Per-epoch columns that only ``rdia-if`` fills: the harmful set {phi > alpha} in
#: force after the epoch, its precision and recall (%) against the true noise mask,
#: the seconds spent on phi at the end of the epoch (0 when it was not recomputed),
#: and the accuracy (%) on the validation images that phi never sees.
IF_COLUMNS = ("n_harmful", "harmful_precision", "harmful_recall", "influence_seconds",
              "holdout_acc")


def format_setting(value):
    """A setting's value as written in a run name: whole, as Python prints it.

    0.0002 stays "0.0002", 1e-05 is "1e-05", 200 is "200".
    """
    return repr(value) if isinstance(value, float) else str(value)


class Method:
    """A training method: what the loop of ``experiments/deep.py`` asks of it.

    The base class trains one network with the mean cross-entropy of every sample
    and carries no state between epochs (the ``ce`` method).
    """

    #: Name given to ``--method``.
    name = "ce"
    #: Networks the method trains; the first is the one evaluated.
    n_networks = 1
    #: Settings of ``LSConfig`` that only this method reads.
    reads = ()
    #: Of :attr:`reads`, those that enter the run name after the seed when they
    #: differ from their default (``_<setting><value>``).
    named_settings = ()

    def name_parts(self, config):
        """Parts of the run name after the method name and after the noise rate.

        Parameters
        ----------
        config : experiments.deep.LSConfig
            Resolved.

        Returns
        -------
        after_method, after_noise : str
        """
        return "", ""

    def holdout(self, config):
        """Validation images per class that phi never sees (``rdia-if`` only)."""
        return 0

    def start(self, tensors, config):
        """The state carried from epoch to epoch, before the first one (None here)."""
        return None

    def batch_losses(self, logits, y, index, f, warmup, config, state):
        """Losses of one mini-batch.

        Parameters
        ----------
        logits : list of Tensor of shape (B, K)
            One per network.
        y : Tensor of shape (B,), int64
            Observed labels of the batch.
        index : Tensor of shape (B,), int64
            Positions of the batch in the training set.
        f : float
            Forget rate of the epoch.
        warmup : bool
            Whether the epoch is a warm-up epoch.
        config : experiments.deep.LSConfig
            Resolved.
        state : object
            What :meth:`start` or :meth:`end_epoch` returned last.

        Returns
        -------
        losses : list of (Tensor or None)
            One per network; None when there is nothing to train on (no step).
        keep : Tensor
            Batch indices of the keep set (network 1's selection for co-teaching).
        sizes : tuple of int
            (n_keep, n_unsure, n_drop) of the batch.
        """
        B = len(y)
        return [selection.cross_entropy(logits[0], y).mean()], \
            torch.arange(B, device=y.device), (B, 0, 0)

    def end_epoch(self, epoch, nets, tensors, config, state):
        """The hook after each epoch's training, before its evaluation.

        Parameters
        ----------
        epoch : int
            0-based epoch just trained.
        nets : list of torch.nn.Module
        tensors : dict of Tensor
            As in ``experiments.deep.train``.
        config : experiments.deep.LSConfig
            Resolved.
        state : object

        Returns
        -------
        state : object
            The state for the next epoch.
        columns : dict or None
            Values of :data:`IF_COLUMNS` for the epoch's CSV row; None leaves them empty.
        """
        return state, None


class CoTeaching(Method):
    """Two networks, each trained on the small-loss samples of the other."""

    name = "coteaching"
    n_networks = 2

    def batch_losses(self, logits, y, index, f, warmup, config, state):
        B = len(y)
        n_keep = selection.partition_sizes(B, f, 0.0, warmup=True)[0]
        loss1, loss2, keep1, _ = selection.coteaching_losses(logits[0], logits[1], y, n_keep)
        losses = [loss1, loss2] if n_keep else [None, None]
        return losses, keep1, (n_keep, 0, B - n_keep)


class RdiaLS(Method):
    """RDIA-LS: CE on the keep set, l_R on the unsure set, with ``config.loss``."""

    name = "rdia-ls"
    reads = ("loss", "gamma")

    def name_parts(self, config):
        return f"-{config.loss}", f"_gamma{format_setting(config.gamma)}"

    def batch_losses(self, logits, y, index, f, warmup, config, state):
        sizes = selection.partition_sizes(len(y), f, config.noise_rate, warmup)
        ce = selection.cross_entropy(logits[0], y)
        part = selection.rank_partition(ce, sizes[0], sizes[1])
        loss = selection.batch_loss(logits[0], y, part, config.gamma, warmup,
                                    config.loss, ce=ce)
        return [loss if sizes[0] + sizes[1] else None], part.keep, sizes


@dataclasses.dataclass
class InfluenceState:
    """What ``rdia-if`` carries between epochs.

    Attributes
    ----------
    harmful : Tensor of shape (n,), bool, or None
        The samples that train with l_R; None before the first phi.
    cg_iterations : int or None
        Iterations of the last solve for phi.
    """

    harmful: object = None
    cg_iterations: object = None


class RdiaIf(Method):
    """RDIA with influence functions through the last layer (docs/method.md section 6)."""

    name = "rdia-if"
    reads = ("alpha", "if_warmup", "if_every", "if_damping", "if_holdout")
    named_settings = ("if_warmup", "if_every", "if_damping", "if_holdout")

    def name_parts(self, config):
        return "", f"_alpha{format_setting(config.alpha)}"

    def holdout(self, config):
        return config.if_holdout

    def start(self, tensors, config):
        return InfluenceState()

    def batch_losses(self, logits, y, index, f, warmup, config, state):
        harmful = None if state.harmful is None else state.harmful[index]
        return rdia_if_loss(logits[0], y, harmful)

    def end_epoch(self, epoch, nets, tensors, config, state):
        seconds = 0.0
        if influence_due(epoch, config):
            started = time.perf_counter()
            harmful, _, n_iter = harmful_set(nets[0], tensors, config)
            state = InfluenceState(harmful, n_iter)
            seconds = time.perf_counter() - started
        return state, harmful_stats(state.harmful, tensors["clean"], seconds)


#: The registry: every method of ``--method``, by name, in the order of the help.
METHODS = {method.name: method for method in (RdiaLS(), RdiaIf(), Method(), CoTeaching())}


def method_of(config):
    """The :class:`Method` object of a config's ``method`` setting."""
    return METHODS[config.method]


def settings_read_by_others(method):
    """The method-only settings (:attr:`Method.reads`) that ``method`` does not read."""
    others = [name for other in METHODS.values() for name in other.reads]
    return tuple(name for name in dict.fromkeys(others) if name not in method.reads)


# ----------------------------------------------------------------------------
# rdia-if


def rdia_if_loss(logits, y, harmful=None):
    """The ``rdia-if`` loss of one mini-batch: mean of l_R over harmful samples and CE
    over the others (CE over all when ``harmful`` is None).

    Parameters
    ----------
    logits : Tensor of shape (B, K)
    y : Tensor of shape (B,), int64
    harmful : Tensor of shape (B,), bool, optional

    Returns
    -------
    losses : list of one Tensor
    keep : Tensor
        Batch indices of the samples trained with CE.
    sizes : tuple of int
        (trained with CE, trained with l_R, 0).
    """
    ce = selection.cross_entropy(logits, y)
    if harmful is None:
        return [ce.mean()], torch.arange(len(y), device=y.device), (len(y), 0, 0)
    per_sample = torch.where(harmful, selection.complementary_loss(logits, y), ce)
    n_harmful = int(harmful.sum())
    return [per_sample.mean()], torch.nonzero(~harmful).flatten(), \
        (len(y) - n_harmful, n_harmful, 0)


def influence_due(epoch, config):
    """Whether ``rdia-if`` recomputes phi at the end of a 0-based epoch: at the end of
    epoch ``if_warmup`` (1-based), then every ``if_every`` epochs."""
    done = epoch + 1
    return done >= config.if_warmup and (done - config.if_warmup) % config.if_every == 0


def harmful_set(net, tensors, config):
    """The harmful set {phi > alpha} of the network's current last layer.

    phi (``last_layer.last_layer_influence``) is taken against the validation images
    that phi may see (``phi_index`` of the test set, ``deep.influence_split``) with
    the observed training labels.

    Parameters
    ----------
    net : torch.nn.Module
    tensors : dict of Tensor
        X_train, y_train, X_test, y_test and phi_index, as in ``deep.train``.
    config : experiments.deep.LSConfig
        Resolved.

    Returns
    -------
    harmful : Tensor of shape (n,), bool, on the training tensors' device
    phi : ndarray of shape (n,)
    cg_iterations : int
        Iterations of the conjugate-gradient solve.
    """
    val = tensors["phi_index"]
    solver = influence.ConjugateGradient(tol=last_layer.TOL)
    # numpy's BLAS gets the run's thread count too: on a busy machine two BLAS
    # threads made phi 10x slower here
    with threadpool_limits(config.threads):
        phi = last_layer.last_layer_influence(
            net, tensors["X_train"], tensors["y_train"], tensors["X_test"][val],
            tensors["y_test"][val], config.weight_decay, config.if_damping, solver=solver)
    harmful = torch.from_numpy(phi > config.alpha).to(tensors["y_train"].device)
    return harmful, phi, solver.n_iter_


def harmful_stats(harmful, clean, seconds):
    """The ``rdia-if`` columns of an epoch: size of the harmful set, its precision and
    recall (%) against the true noise mask (None when undefined), and ``seconds``."""
    if harmful is None:
        return {"n_harmful": 0, "harmful_precision": None, "harmful_recall": None,
                "influence_seconds": round(seconds, 3)}
    noisy = ~clean
    hits = int((harmful & noisy).sum())
    n_harmful, n_noisy = int(harmful.sum()), int(noisy.sum())
    return {"n_harmful": n_harmful,
            "harmful_precision": 100.0 * hits / n_harmful if n_harmful else None,
            "harmful_recall": 100.0 * hits / n_noisy if n_noisy else None,
            "influence_seconds": round(seconds, 3)}


__all__ = ["IF_COLUMNS", "METHODS", "CoTeaching", "InfluenceState", "Method", "RdiaIf",
           "RdiaLS", "format_setting", "harmful_set", "harmful_stats", "influence_due",
           "method_of", "rdia_if_loss", "settings_read_by_others"]
