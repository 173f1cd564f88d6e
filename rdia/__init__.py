"""RDIA: influence-based relabeling of noisy training labels (Kong, Shen and Huang, 2022).

The one-call entry points::

    from rdia import find_harmful, RDIAClassifier

``find_harmful`` returns the mask of harmful training rows (phi > alpha) of your own
data; ``RDIAClassifier`` is a scikit-learn estimator that also relabels them and
refits. The modules underneath: ``influence`` (phi), ``relabel`` (R and l_R),
``edits`` (the training-set edits compared), ``models`` (the loss objects), ``data``
(datasets, noise, your own files) and ``experiments`` (the engines of the scripts).
"""

__all__ = ["RDIAClassifier", "find_harmful", "influence_scores"]


def __getattr__(name):
    """The entry points, imported on first use: ``import rdia.data`` alone (a script
    reading a cached dataset) must not pay for scikit-learn."""
    if name in __all__:
        from rdia import estimator
        return getattr(estimator, name)
    raise AttributeError(f"module 'rdia' has no attribute {name!r}")
