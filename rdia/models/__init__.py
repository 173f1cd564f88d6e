"""The models RDIA trains.

- ``logreg``: L2 binary logistic regression (liblinear form), as a loss object.
- ``softmax``: L2 multinomial logistic regression that trains l_R, as a loss object.
- ``linear``: what both share: the Hessian operator I + C X^T B X on vec(W) and its
  preconditioners (Jacobi, Kronecker).
- ``newton``: trust-region Newton on Hessian-vector products, the softmax fit.
- ``networks``: the MLP and the CNN of RDIA-LS (imports torch; load it only there).
"""

from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax


def make_model(name, n_classes, learner="newton", progress=None):
    """The linear model ``name`` ("logreg" or "softmax") for K = n_classes.

    ``learner`` is the binary model's minimiser; ``progress`` shows the Newton fits'
    progress bar (None: on a terminal only).
    """
    if name == "logreg":
        return Logistic(learner=learner, progress=progress)
    return Softmax(n_classes, progress=progress)
