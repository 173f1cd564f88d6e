"""The models RDIA trains.

- ``logreg``: L2 binary logistic regression (liblinear form), as a loss object.
- ``softmax``: L2 multinomial logistic regression that trains l_R, as a loss object.
- ``linear``: what both share: the Hessian operator I + C X^T B X on vec(W) and its
  preconditioners (Jacobi, Kronecker).
- ``newton``: trust-region Newton on Hessian-vector products, the softmax fit.
- ``networks``: the MLP and the CNN of RDIA-LS (imports torch; load it only there).
"""
