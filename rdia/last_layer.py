"""Influence of training samples on a network through its last layer (docs/method.md section 6).

A network's logits are z = h(x) W: h(x) are the penultimate features (the
``penultimate`` method of ``models/networks.py``), with a constant 1 appended for the
bias, and W, of shape (m + 1, K), is the last layer. Adam on the mean cross-entropy
with weight decay wd trains W on

    (1/n) sum_i CE(h_i W, y_i) + (wd / 2) ||W||^2 = wd [1/2 ||W||^2 + C sum_i CE(h_i W, y_i)]

with C = 1 / (n wd): the softmax regression of ``models.softmax`` on the features H,
in the same units as everywhere in this project. phi of every training sample is
therefore ``influence.influence`` of ``models.softmax.Softmax`` at the network's W,
with this C, and the paper's alpha means the same thing. With wd = 0 a damping lambda
takes the place of wd.

The body is held fixed while phi is computed, and the network is not at an exact
minimiser of the last-layer objective, so phi is the first-order estimate at the
current parameters. Features are computed in evaluation mode (BatchNorm with its
running statistics), in float64.
"""

import numpy as np
import torch

from rdia import influence
from rdia.models import networks
from rdia.models.softmax import Softmax

#: Images per forward pass when computing features (memory only; no effect on phi).
FEATURE_BATCH = 1000

#: Default damping lambda that replaces the weight decay when it is 0.
DEFAULT_DAMPING = 1e-5

#: Relative residual at which the default CG solve for phi stops. On the MNIST MLP at
#: symmetric noise 0.8 (seed 1, rdia-if at alpha 0), the harmful sets {phi > 0} at
#: 1e-5 equal those of a 1e-12 solve after epochs 4, 7, 10, 13, 16 and 19, with
#: 10-25 iterations against 22-62; phi differs by at most 3e-5 of max |phi|. At 1e-4
#: up to 5 of about 36,000 harmful samples change, at 1e-3 up to 19. phi is
#: recomputed as the network trains, so the solve is kept short.
TOL = 1e-5


def features(net, X, batch=FEATURE_BATCH):
    """Penultimate features of every image, with a constant 1 appended for the bias.

    Parameters
    ----------
    net : torch.nn.Module
        A network of ``models/networks.py`` (it has ``penultimate``).
    X : Tensor of shape (n, C, H, W), uint8
        Images, on the network's device.
    batch : int, default=FEATURE_BATCH

    Returns
    -------
    H : ndarray of shape (n, m + 1), float64
        h(x_i) and a last column of ones.
    """
    m = net.last_layer.in_features
    H = np.empty((len(X), m + 1))
    H[:, m] = 1.0
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(X), batch):
            h = net.penultimate(networks.to_float(X[start:start + batch]))
            H[start:start + len(h), :m] = h.cpu().numpy()
    net.train(was_training)
    return H


def last_layer_weights(net):
    """The last layer as one weight matrix W = [weight^T; bias], shape (m + 1, K), float64."""
    layer = net.last_layer
    with torch.no_grad():
        return np.vstack([layer.weight.detach().double().cpu().numpy().T,
                          layer.bias.detach().double().cpu().numpy()[None, :]])


def loss_weight(n, weight_decay, damping=DEFAULT_DAMPING):
    """C = 1 / (n wd) of the last-layer objective (1 / (n lambda) when wd = 0).

    Parameters
    ----------
    n : int
        Training samples.
    weight_decay : float >= 0
        wd of the network's optimiser.
    damping : float > 0
        lambda, used in place of wd when wd is 0.

    Returns
    -------
    C : float
    """
    strength = weight_decay if weight_decay > 0 else damping
    if not strength > 0:
        raise ValueError(f"the damping must be positive when the weight decay is 0, got {damping}")
    return 1.0 / (n * strength)


def last_layer_influence(net, X_train, y_train, X_val, y_val, weight_decay,
                         damping=DEFAULT_DAMPING, solver=None):
    """phi of every training sample through the network's last layer.

    Parameters
    ----------
    net : torch.nn.Module
        A network of ``models/networks.py``; its parameters are not changed.
    X_train : Tensor of shape (n, C, H, W), uint8
        Training images, on the network's device.
    y_train : array-like of shape (n,), int
        Observed (possibly noisy) labels, 0 .. K - 1.
    X_val : Tensor of shape (n_val, C, H, W), uint8
    y_val : array-like of shape (n_val,), int
        Clean validation labels.
    weight_decay : float >= 0
    damping : float > 0, default=DEFAULT_DAMPING
        lambda in place of a zero weight decay.
    solver : influence.InverseHVPSolver, optional
        Defaults to ``influence.ConjugateGradient(tol=TOL)`` (Kronecker-preconditioned
        for these dense features); its ``n_iter_`` and ``residual_`` are set on return.

    Returns
    -------
    phi : ndarray of shape (n,)
        Influence on C x summed validation loss, C = :func:`loss_weight`; harmful where
        above alpha.

    Raises
    ------
    influence.ConvergenceError
        When the solver stops above its tolerance (the message gives the residual).
    """
    y_train = np.asarray(torch.as_tensor(y_train).cpu(), dtype=np.int64)
    y_val = np.asarray(torch.as_tensor(y_val).cpu(), dtype=np.int64)
    W = last_layer_weights(net)
    C = loss_weight(len(y_train), weight_decay, damping)
    if solver is None:
        solver = influence.ConjugateGradient(tol=TOL)
    return influence.influence(Softmax(W.shape[1]), W, features(net, X_train), y_train,
                               features(net, X_val), y_val, C, solver=solver)


__all__ = ["DEFAULT_DAMPING", "TOL", "features", "last_layer_influence", "last_layer_weights",
           "loss_weight"]
