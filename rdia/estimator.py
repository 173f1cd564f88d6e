"""RDIA as a scikit-learn classifier: fit on noisy labels, relabel the harmful ones, refit.

:class:`RDIAClassifier` runs the method of docs/method.md sections 2-4 on any numeric data
(dense, CSR or an all-numeric DataFrame) with labels of any type::

    clf = RDIAClassifier(C=0.1, alpha=0.0002).fit(X, y, X_val=X_val, y_val=y_val)
    clf.harmful_          # the training rows RDIA relabeled
    clf.label_issues()    # given label, suggested label, phi, harmful per row
    clf.predict(X_test)   # the model refitted after relabeling

``fit`` does, in order:

1. map the labels to class indices with ``LabelEncoder``; every validation label must
   be a training label;
2. fit the L2 linear model J(W) = 1/2 ||W||^2 + C sum_i l_i, with no intercept:
   binary logistic regression (trust-region Newton, ``models.logreg``) for two
   classes, softmax regression for more (``model="auto"``);
3. compute phi_i for every training row: the first-order change of C x (summed
   validation log-loss) when row i is up-weighted (``influence.py``);
4. call the rows with phi_i > alpha harmful and relabel them with R: the flipped label
   for two classes, the complementary loss l_R = -log(1 - p_y) for K;
5. refit; ``coef_``, ``predict`` and ``predict_proba`` are those of the refit.

Validation data in a Pipeline
-----------------------------
A ``Pipeline`` passes fit parameters to its last step as they are: ``X_val`` would
reach the classifier without going through the scaler or encoder before it, in other
units than X. Inside a Pipeline, pass the validation rows *inside X* and mark them
with ``val_mask``, a per-row parameter that needs no transforming::

    pipe = make_pipeline(StandardScaler(), RDIAClassifier())
    pipe.fit(X_all, y_all, rdiaclassifier__val_mask=is_val)

Every step then transforms the validation rows as it transforms the training rows.
The transformers are fitted on both (on features only; no label is read by a scaler
or an encoder). ``fit`` refuses an ``X_val`` that has column names when X has none,
the usual sign of an ``X_val`` that skipped a Pipeline's transformers. With
scikit-learn's metadata routing switched on (``sklearn.set_config(
enable_metadata_routing=True)``) request the mask with
``RDIAClassifier().set_fit_request(val_mask=True)``.

The module-level functions are the steps, shared with :func:`find_harmful` and
``RDIA.py --train``.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from rdia import influence, relabel, settings
from rdia.repair import (AUTO_GRID, InfluenceFit, TrustedCheck, AlphaChoice,  # noqa: F401
                         RoundsChoice, check_trusted_file, choose_alpha, choose_rounds,
                         flag_given_labels, iterated_repair, refit_suggestions,
                         suggestions)
from rdia.relabel import suggested_labels  # noqa: F401 (part of this module's API)
from rdia.data.tables import check_labels, encode_labels
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax

#: Values of the ``model`` parameter: "auto" is logreg for two classes, else softmax.
MODEL_CHOICES = ("auto",) + settings.MODELS


def linear_model_for(model, n_classes):
    """The linear model that fits ``n_classes`` classes.

    Parameters
    ----------
    model : {"auto", "logreg", "softmax"}
        "auto": binary logistic regression for two classes, softmax for more.
    n_classes : int
        K >= 2.

    Returns
    -------
    linear : models.linear.LinearModel
        ``models.logreg.Logistic()`` or ``models.softmax.Softmax(n_classes)``.

    Raises
    ------
    ValueError
        For an unknown name, or "logreg" with more than two classes.
    """
    settings.check_choice(model, MODEL_CHOICES, "model")
    if model == "auto":
        model = "logreg" if n_classes == 2 else "softmax"
    if model == "logreg" and n_classes > 2:
        raise ValueError(f"model='logreg' fits two classes but the labels hold "
                         f"{n_classes}; use model='softmax' or 'auto'")
    return Logistic() if model == "logreg" else Softmax(n_classes)


def check_numeric_columns(X, name="X"):
    """Refuse a DataFrame with a column that is not numeric, naming it.

    Parameters
    ----------
    X : array-like, sparse matrix or pandas.DataFrame
    name : str
        Argument name quoted in the message.

    Raises
    ------
    ValueError
        For a DataFrame column of text, categories, booleans or objects.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    import pandas as pd

    text = [str(column) for column, dtype in zip(X.columns, dtypes)
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)]
    if text:
        raise ValueError(f"{name} column {text[0]!r} is not numeric; encode it first, "
                         f"e.g. with data.tables.make_encoder or a ColumnTransformer "
                         f"before RDIAClassifier in a Pipeline")


def check_finite(X, name="X", columns=None):
    """Refuse NaN and infinities, naming the first one's row and column.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        float64 features.
    name : str
        Argument name quoted in the message.
    columns : sequence of str, optional
        Column names (of a DataFrame) quoted instead of column numbers.

    Raises
    ------
    ValueError
        "X contains NaN or infinity at row i, column j" (0-based positions).
    """
    if sp.issparse(X):
        bad = ~np.isfinite(X.data)
        if not bad.any():
            return
        k = int(np.argmax(bad))
        row = int(np.searchsorted(X.indptr, k, side="right") - 1)
        column = int(X.indices[k])
    else:
        finite = np.isfinite(X)
        if finite.all():
            return
        row = int(np.argmax(~finite.all(axis=1)))
        column = int(np.argmax(~finite[row]))
    shown = repr(str(columns[column])) if columns is not None else column
    raise ValueError(f"{name} contains NaN or infinity at row {row}, column {shown} "
                     f"(0-based); fill or drop it first, e.g. with "
                     f"sklearn.impute.SimpleImputer")


def numeric_input(X, name="X"):
    """X as the models take it: a float64 ndarray or CSR matrix, checked.

    Parameters
    ----------
    X : array-like, sparse matrix or all-numeric pandas.DataFrame of shape
        (n_samples, n_features)
    name : str
        Argument name quoted in messages.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n_samples, n_features), float64
        Sparse input stays sparse (CSC and COO become CSR).

    Raises
    ------
    ValueError
        A non-numeric column, NaN or infinity, no rows, or not 2-D.
    """
    check_numeric_columns(X, name)
    columns = getattr(X, "columns", None)
    X = check_array(X, accept_sparse="csr", dtype=np.float64, ensure_all_finite=False,
                    input_name=name)
    check_finite(X, name, columns)
    return X


def labels_input(y, n_samples, name="y"):
    """Labels as a 1-D array of classification targets, one per row of X.

    Raises
    ------
    ValueError
        Not 1-D, a length other than ``n_samples``, a missing label (None, NaN),
        labels that mix text and numbers, or continuous values.
    """
    y = check_labels(column_or_1d(y, warn=True, dtype=None), name)
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} labels for {n_samples} rows")
    check_classification_targets(y)
    return y


def influence_scores(X, y, X_val, y_val, *, C=0.1, model="auto", solver="cg",
                     tol=influence.DEFAULT_TOL, max_iter=1000):
    """Fit on the observed labels and compute phi for every training row.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_train, n_features)
        float64 training features (see :func:`numeric_input`).
    y : ndarray of shape (n_train,)
        Observed (noisy) labels, of any type.
    X_val : ndarray or CSR matrix of shape (n_val, n_features)
        Trusted validation features.
    y_val : ndarray of shape (n_val,)
        Trusted validation labels; each must be a training label.
    C : float, default=0.1
        Weight of the summed log-loss in J.
    model : {"auto", "logreg", "softmax"}, default="auto"
    solver : {"cg", "direct"}, default="cg"
        Inverse-Hessian-vector solver (``influence.SOLVERS``).
    tol, max_iter
        cg's relative residual and iteration limit.

    Returns
    -------
    fit : InfluenceFit

    Raises
    ------
    ValueError
        Labels that do not fit (one class, a validation label unseen in training);
        ``models.linear.DenseHessianTooLarge`` for "direct" on too many parameters.
    influence.ConvergenceError
        When cg stops above ``tol``.
    """
    classes, y_enc, (y_val_enc,) = encode_labels(y, "y", [(y_val, "y_val")])
    linear = linear_model_for(model, len(classes))
    influence.check_solver_size(solver, X.shape[1] * linear.n_columns)
    W = linear.fit(X, y_enc, C)
    inverse_hvp = influence.make_solver(solver, tol=tol, max_iter=max_iter)
    s = influence.validation_direction(linear, W, X, X_val, y_val_enc, C, inverse_hvp)
    phi = influence.sample_influence(linear, W, X, y_enc, s, C)
    return InfluenceFit(classes=classes, linear=linear, y=y_enc, y_val=y_val_enc, W=W,
                        phi=phi, n_iter=int(inverse_hvp.n_iter_), s=s)


def checked_fit(X, labels, X_val, labels_val, C, model):
    """Raw input checked (parameters, columns, widths, labels) and fitted: (X, X_val,
    :class:`InfluenceFit`), X and X_val as the model reads them."""
    check_parameters(C=C, model=model)
    check_same_columns(getattr(X, "columns", None), getattr(X_val, "columns", None))
    X = numeric_input(X, "X")
    X_val = numeric_input(X_val, "X_val")
    check_same_width(X, X_val)
    labels = labels_input(labels, X.shape[0], "labels")
    labels_val = labels_input(labels_val, X_val.shape[0], "labels_val")
    return X, X_val, influence_scores(X, labels, X_val, labels_val, C=C, model=model)


def check_same_width(X, X_val):
    """Raise ValueError unless X and X_val have the same number of features."""
    if X_val.shape[1] != X.shape[1]:
        raise ValueError(f"X_val has {X_val.shape[1]} features but X has {X.shape[1]}; "
                         f"transform both alike")


def check_same_columns(columns, val_columns):
    """Raise ValueError when the column names of two DataFrames differ.

    Parameters
    ----------
    columns, val_columns : sequence of str or None
        Column names of X and X_val; None for input without names (nothing to
        compare). Names and order must agree, as scikit-learn asks of the data given
        to a fitted estimator; the message names the first column that differs.
    """
    if columns is None or val_columns is None or list(columns) == list(val_columns):
        return
    for position, (name, val_name) in enumerate(zip(columns, val_columns)):
        if name != val_name:
            raise ValueError(f"X_val's column {position} is {str(val_name)!r} but X's is "
                             f"{str(name)!r}; give both the same columns in the same "
                             f"order")
    raise ValueError(f"X_val has {len(val_columns)} columns but X has {len(columns)}")


def check_parameters(C=0.1, alpha=0.0002, model="auto", solver="cg",
                     tol=influence.DEFAULT_TOL, max_iter=1000):
    """Raise a ValueError (``settings.ConfigError``) naming the first parameter out of
    range, as Python spells it."""
    settings.check_C(C, "C")
    settings.check_alpha(alpha, "alpha")
    settings.check_choice(model, MODEL_CHOICES, "model")
    settings.check_choice(solver, tuple(influence.SOLVERS), "solver")
    settings.check_fraction(tol, "tol")
    settings.check_count(max_iter, "max_iter")


class RDIAClassifier(ClassifierMixin, BaseEstimator):
    """L2 linear classifier that relabels its harmful training samples (RDIA).

    Read more in the module docstring and in docs/method.md sections 2-4.

    Parameters
    ----------
    C : float, default=0.1
        Weight of the summed log-loss in J(W) = 1/2 ||W||^2 + C sum_i l_i, in
        [1e-8, 1e8]; the paper's 0.1.
    alpha : float or "auto", default="auto"
        Harmfulness threshold, >= 0: a row with phi_i > alpha is relabeled. In the
        units of phi, C x (summed validation log-loss); the paper uses 0.01, 0.002
        and 0.0002. "auto": relabel in rounds, phi recomputed after each, the
        number of rounds cross-fitted on the validation rows
        (:func:`choose_rounds`, docs/method.md section 8; ``alpha_choice_``
        records the curve). Flagged are the rows the rounds relabeled and the
        rows whose given label the repaired model finds more likely wrong than
        right, the validation rows as the null (:func:`flag_given_labels`); a row
        trains with its new label where both agree. benchmarks/label_repair.py:
        "auto" is never below no relabeling on average, 0.0002 is at 10% and 20%
        noise.
    model : {"auto", "logreg", "softmax"}, default="auto"
        "auto": binary logistic regression for two classes, softmax regression for
        more, both fitted by trust-region Newton. Neither has an intercept.
    solver : {"cg", "direct"}, default="cg"
        Inverse-Hessian-vector solver: preconditioned conjugate gradients, or a
        Cholesky factorisation for at most 5,000 parameters.
    tol : float, default=influence.DEFAULT_TOL (1e-7)
        Relative residual at which cg stops (``benchmarks/cg_tolerance.py`` chose it).
    max_iter : int, default=1000
        Iteration limit of cg; reaching it above ``tol`` raises
        ``influence.ConvergenceError``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted, in their original type.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the refit after relabeling: one row for logreg (the weights of
        ``classes_[1]``), one per class for softmax.
    phi_ : ndarray of shape (n_train,)
        Influence of every training row on C x summed validation log-loss.
    harmful_ : ndarray of bool, shape (n_train,)
        The flagged rows: ``phi_ > alpha_`` for a number alpha, all relabeled;
        with alpha="auto", the rows the rounds relabeled and the rows whose given
        label the repaired model finds more likely wrong than right (relabeled
        where both agree, else kept; ``suggested_label_`` says which).
    alpha_ : float
        The threshold used: ``alpha``; with "auto", 0.0 (each round relabels among
        the rows with phi > 0), or inf when no round was chosen.
    alpha_choice_ : RoundsChoice or None
        With alpha="auto": the cross-fitted curve and the number of rounds.
    flag_choice_ : FlagChoice or None
        With alpha="auto": the threshold of the flagged rows and their scores.
    trusted_check_ : TrustedCheck
        The check of the validation rows against the training rows; a
        ``UserWarning`` says so in one line when they look no cleaner.
    n_iter_ : int
        Iterations of the inverse-Hessian-vector solver (1 for "direct").
    linear_model_ : models.linear.LinearModel
        The fitted model family (``Logistic`` or ``Softmax``).
    given_label_, suggested_label_ : ndarray of shape (n_train,)
        Each training row's label and the label RDIA suggests (see
        :meth:`label_issues`), in the labels' original type.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame X; absent otherwise.

    See Also
    --------
    find_harmful : the harmful mask in one call, without the refit.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from estimator import RDIAClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = RDIAClassifier().fit(X[:400], y[:400], X_val=X[400:], y_val=y[400:])
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(self, C=0.1, alpha="auto", model="auto", solver="cg",
                 tol=influence.DEFAULT_TOL, max_iter=1000):
        self.C = C
        self.alpha = alpha
        self.model = model
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, X_val=None, y_val=None, val_mask=None):
        """Fit on (X, y), find the harmful rows against the validation set, relabel, refit.

        Parameters
        ----------
        X : array-like, sparse matrix or all-numeric DataFrame of shape
            (n_samples, n_features)
            Training features (with ``val_mask``: training and validation rows).
        y : array-like of shape (n_samples,)
            Observed, possibly noisy labels, of any type (strings, {-1, +1}, ...).
        X_val : array-like, sparse matrix or DataFrame of shape (n_val, n_features)
            Trusted validation features, in the units of X.
        y_val : array-like of shape (n_val,)
            Trusted validation labels; each must occur in y.
        val_mask : array-like of bool, shape (n_samples,), optional
            Instead of X_val and y_val: the rows of X that are trusted validation
            rows (the way to pass validation data through a Pipeline).

        Returns
        -------
        self : RDIAClassifier

        Raises
        ------
        ValueError
            A bad parameter, both or neither of (X_val, y_val) and val_mask, widths
            that differ, NaN or infinity, a single class, or a validation label that
            y lacks (each named in the message).
        """
        settings.check_alpha(self.alpha, "alpha", auto=True)
        check_parameters(self.C, 0.0, self.model, self.solver, self.tol, self.max_iter)
        X, y, X_val, y_val, rows = self._training_and_validation(X, y, X_val, y_val,
                                                                 val_mask)
        fit = influence_scores(X, y, X_val, y_val, C=self.C, model=self.model,
                               solver=self.solver, tol=self.tol, max_iter=self.max_iter)
        repair = repair_from_fit(fit, X, X_val, self.C, self.alpha)
        self.alpha_choice_ = repair.alpha_choice
        self.flag_choice_ = repair.flag_choice
        self.alpha_ = repair.alpha
        self.trusted_check_ = repair.trusted_check
        harmful = repair.harmful
        W = repair.W  # RDIA's refit at a number alpha; the repaired labels' fit else
        if W is None:
            W = fit.linear.fit(X, repair.labels, self.C)
        self.classes_ = fit.classes
        self.linear_model_ = fit.linear
        self.coef_ = W[None, :] if W.ndim == 1 else W.T.copy()
        self.phi_ = fit.phi
        self.harmful_ = harmful
        self.n_iter_ = fit.n_iter
        self.given_label_ = fit.classes[fit.y]
        self.suggested_label_ = repair.suggested
        self._rows = rows
        return self

    def _training_and_validation(self, X, y, X_val, y_val, val_mask):
        """Checked training and validation arrays, and the training rows' index."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                             f"target y is None")
        if val_mask is not None and (X_val is not None or y_val is not None):
            raise ValueError("pass either X_val and y_val or val_mask, not both")
        if val_mask is None and (X_val is None or y_val is None):
            raise ValueError("RDIA needs a trusted validation set: pass X_val and "
                             "y_val, or mark validation rows of X with val_mask (the "
                             "way through a Pipeline)")
        columns = getattr(X, "columns", None)
        index = X.index if columns is not None else None
        check_numeric_columns(X, "X")
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64,
                          ensure_all_finite=False, ensure_min_samples=2)
        check_finite(X, "X", columns)
        y = labels_input(y, X.shape[0], "y")
        rows = np.arange(X.shape[0])
        if val_mask is not None:
            mask = np.asarray(val_mask)
            if mask.dtype != bool or mask.shape != (X.shape[0],):
                raise ValueError(f"val_mask must be a bool array with one entry per "
                                 f"row of X ({X.shape[0]}); got dtype {mask.dtype}, "
                                 f"shape {mask.shape}")
            if mask.all() or not mask.any():
                raise ValueError("val_mask must mark some rows of X as validation and "
                                 "leave some for training")
            rows = np.flatnonzero(~mask)
            X_val, y_val = X[mask], y[mask]
            X, y = X[rows], y[rows]
        else:
            if hasattr(X_val, "columns") and columns is None:
                raise ValueError("X_val has column names but X has none: in a Pipeline, "
                                 "X_val skips the steps before RDIAClassifier; pass the "
                                 "validation rows in X and mark them with val_mask")
            check_same_columns(columns, getattr(X_val, "columns", None))
            X_val = numeric_input(X_val, "X_val")
            check_same_width(X, X_val)
            y_val = labels_input(y_val, X_val.shape[0], "y_val")
        return X, y, X_val, y_val, (rows if index is None else index[rows])

    def _weights(self):
        """The refit's weights in the model's own shape."""
        return self.coef_[0] if self.coef_.shape[0] == 1 else self.coef_.T

    def predict_proba(self, X):
        """Class probabilities of the relabeled model.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to one.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Log class probabilities of the relabeled model, shape (n_samples, n_classes).

        Computed from the logits (finite even where a probability underflows to 0).
        """
        check_is_fitted(self)
        check_numeric_columns(X, "X")
        columns = getattr(X, "columns", None)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64,
                          ensure_all_finite=False, reset=False)
        check_finite(X, "X", columns)
        return self.linear_model_.log_proba(self._weights(), X)

    def predict(self, X):
        """The most probable label of each row, shape (n_samples,), of ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def label_issues(self):
        """One row per training sample: its label, RDIA's suggestion, phi, harmful.

        Like cleanlab's ``find_label_issues`` table. Sort by phi to rank the
        suspects: ``clf.label_issues().sort_values("phi", ascending=False)``.

        Returns
        -------
        issues : pandas.DataFrame of shape (n_train, 4)
            Columns ``given_label`` (as given), ``suggested_label`` (the given label
            where the row is not harmful; else the flipped label for two classes, and
            for K the most probable other class under the refitted model), ``phi``
            (float) and ``harmful`` (bool). Indexed by the training rows' index in X
            (its DataFrame index, or positions 0 .. n-1; with ``val_mask`` the
            positions of the unmarked rows).
        """
        import pandas as pd

        check_is_fitted(self)
        return pd.DataFrame({"given_label": self.given_label_,
                             "suggested_label": self.suggested_label_,
                             "phi": self.phi_, "harmful": self.harmful_},
                            index=self._rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# --------------------------------------------------------------------- label repair

@dataclass
class LabelRepair:
    """What :func:`repair_labels` found, per training row and for the whole run.

    Attributes
    ----------
    harmful : ndarray of bool, shape (n_train,)
        The flagged rows: phi > alpha for a number alpha; with alpha="auto", the rows
        whose label the iterated repair's rounds changed and the rows whose given
        label the model after the rounds finds more likely wrong than right, the
        trusted rows as the null (``repair.flag_given_labels``).
    suggested : ndarray of shape (n_train,)
        The label to train on, in the labels' original type: the given label where
        not harmful; for a number alpha, the most probable other class under
        RDIA's refit (``repair.refit_suggestions``); with alpha="auto", the label
        after the iterated repair's rounds where both flags agree, else the given
        one (flagged for review, kept).
    labels : ndarray of shape (n_train,), int64
        ``suggested`` as class indices (into the sorted classes).
    k_star : ndarray of shape (n_train,)
        k* of docs/method.md section 7 for every row, the class whose relabel lowers
        the validation loss most to first order, in the labels' original type.
    relabel : ndarray of bool, shape (n_train,)
        Harmful rows where relabeling to k* beats dropping to first order
        (Delta_i(k*) < -phi_i); harmful rows with False would rather be dropped.
    phi : ndarray of shape (n_train,)
    delta_star : ndarray of shape (n_train,)
        Delta_i(k*), the first-order change of C x summed validation loss.
    alpha : float
        The threshold; with alpha="auto", 0.0 (each round relabels among the rows
        with phi > 0) or inf when the choice is zero rounds.
    alpha_choice : RoundsChoice or None
        The cross-fitted number of rounds when alpha="auto".
    flag_choice : FlagChoice or None
        The flagged rows' threshold when alpha="auto".
    trusted_check : TrustedCheck or None
    W : ndarray or None
        For a number alpha, the weights of RDIA's refit at the harmful set (the
        refit the suggestions come from); None with alpha="auto".
    """

    harmful: np.ndarray
    suggested: np.ndarray
    labels: np.ndarray
    k_star: np.ndarray
    relabel: np.ndarray
    phi: np.ndarray
    delta_star: np.ndarray
    alpha: float
    alpha_choice: object = None
    flag_choice: object = None
    trusted_check: object = None
    W: object = None

    def auto_record(self, given):
        """JSON-ready record of alpha="auto" (None for a number alpha): the rounds'
        cross-fitted curve, the flags, and ``labels_changed`` against the class indices
        ``given``, shape (n_train,); ``repair.format_auto`` prints it."""
        if self.alpha_choice is None:
            return None
        return dict(self.alpha_choice.as_dict(), flags=self.flag_choice.as_dict(),
                    labels_changed=int(np.sum(self.labels != given)))


def check_flag(value, name):
    """A bool parameter; a one-line ValueError otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")


def repair_from_fit(fit, X, X_val, C, alpha="auto", check_trusted=True, warn=True,
                    progress=False):
    """:class:`LabelRepair` of a fit: the alpha, the harmful rows, their suggested
    classes, relabel or drop, the trusted check.

    Parameters
    ----------
    fit : InfluenceFit
    X, X_val : ndarray or CSR matrix
        Checked training and trusted features.
    C : float
    alpha : "auto" or float, default="auto"
    check_trusted : bool, default=True
        Run :func:`check_trusted_file`.
    warn : bool, default=True
        Its message as a ``UserWarning`` when the trusted file looks noisy.
    progress : bool or None, default=False
        With alpha="auto", bars counting the rounds on a terminal (None: on a
        terminal only, as ``RDIA.py`` does).

    Returns
    -------
    repair : LabelRepair
    """
    trusted = check_trusted_file(fit, X, X_val, C) if check_trusted else None
    if trusted is not None and trusted.suspicious and warn:
        warnings.warn(trusted.message(), UserWarning, stacklevel=3)
    choice = flags = W = None
    if isinstance(alpha, str):
        choice = choose_rounds(fit, X, X_val, C, progress=progress)
        repaired, W_rounds = iterated_repair(fit, X, X_val, C, choice.rounds,
                                             progress=progress)
        flags = flag_given_labels(fit, X, X_val, C, repaired, W_rounds)
        harmful = flags.flagged | (repaired != fit.y)
        labels = np.where(flags.flagged, repaired, fit.y)
        alpha = 0.0 if choice.rounds else np.inf
    else:
        harmful = relabel.harmful_mask(fit.phi, alpha)
        W, labels = refit_suggestions(fit, X, C, harmful)
    k_star, delta_star = suggestions(fit, X, C)
    suggested = fit.classes[labels]
    return LabelRepair(harmful=harmful, suggested=suggested, labels=labels,
                       k_star=fit.classes[k_star],
                       relabel=harmful & influence.relabel_beats_drop(delta_star, fit.phi),
                       phi=fit.phi, delta_star=delta_star, alpha=alpha,
                       alpha_choice=choice, flag_choice=flags, trusted_check=trusted,
                       W=W)


def repair_labels(X, labels, X_val, labels_val, *, C=0.1, alpha="auto", model="auto",
                  check_trusted=True):
    """Everything RDIA finds about the training labels, as one record.

    The steps of :func:`find_harmful`, which returns parts of this record.

    Parameters
    ----------
    X, labels, X_val, labels_val, C, model
        As for :func:`find_harmful`.
    alpha : "auto" or float, default="auto"
    check_trusted : bool, default=True

    Returns
    -------
    repair : LabelRepair

    Raises
    ------
    ValueError
        For input or a parameter that does not fit (one line naming it).
    """
    settings.check_alpha(alpha, "alpha", auto=True)
    check_flag(check_trusted, "check_trusted")
    X, X_val, fit = checked_fit(X, labels, X_val, labels_val, C, model)
    return repair_from_fit(fit, X, X_val, C, alpha, check_trusted)


def find_harmful(X, labels, X_val, labels_val, *, C=0.1, alpha="auto", model="auto",
                 return_scores=False, return_suggestions=False):
    """The harmful training samples of your own data, in one call.

    Fits the L2 linear model on the observed labels, computes phi for every training
    sample against the trusted validation set, and returns {i : phi_i > alpha}
    (docs/method.md sections 3-4). Nothing is refitted; :class:`RDIAClassifier` also
    relabels and refits. The trusted file is checked first (:func:`check_trusted_file`):
    when it looks noisier than the training data, a ``UserWarning`` says so in one line
    and names the suspicious trusted rows. :func:`repair_labels` returns the whole
    record (the alpha choice and its validation curve, the check, relabel or drop).

    Parameters
    ----------
    X : array-like, sparse matrix or all-numeric pandas.DataFrame of shape
        (n_train, n_features)
        Training features, used as they are (standardise them first; the model has
        no intercept). Sparse input is never densified.
    labels : array-like of shape (n_train,)
        Observed, possibly noisy labels of any type: {0, 1}, {-1, +1}, {2, 4},
        strings, ... (mapped to classes by sorted value with ``LabelEncoder``).
    X_val : array-like, sparse matrix or DataFrame of shape (n_val, n_features)
        Trusted validation features, transformed as X.
    labels_val : array-like of shape (n_val,)
        Trusted validation labels; each must occur in ``labels``.
    C : float, default=0.1
        Weight of the summed log-loss in J(W) = 1/2 ||W||^2 + C sum_i l_i.
    alpha : "auto" or float, default="auto"
        Threshold >= 0 in the units of phi, C x (summed validation log-loss), or
        "auto": relabel in rounds, phi recomputed after each, the number of rounds
        cross-fitted on the trusted file (:func:`choose_rounds`, docs/method.md
        section 8; zero rounds, relabeling nothing, is one of the candidates),
        and flag the rows they relabeled and the rows whose given label the
        repaired model finds more likely wrong than right, the trusted rows as the
        null (:func:`flag_given_labels`); a row is relabeled where both agree.
    model : {"auto", "logreg", "softmax"}, default="auto"
        "auto": binary logistic regression for two classes, softmax for more.
    return_scores : bool, default=False
        Also return phi.
    return_suggestions : bool, default=False
        Also return the suggested label of every row.

    Returns
    -------
    harmful : ndarray of bool, shape (n_train,)
        True for the training samples with phi_i > alpha, in the order of X; with
        alpha="auto", for the flagged rows.
    suggested_labels : ndarray of shape (n_train,)
        Only with ``return_suggestions``: the given label where the row is not
        harmful, else the most probable other class under RDIA's refit
        (``repair.refit_suggestions``; with alpha="auto", the label the rounds
        left where both flags agree, else the given one), in the type of
        ``labels``.
    phi : ndarray of shape (n_train,)
        Only with ``return_scores`` (last): the influence of every training sample.

    Raises
    ------
    ValueError
        For input that does not fit, named in the message: a non-numeric column,
        NaN, widths that differ, a single class, a validation label that the
        training labels lack, or a parameter out of range.
    """
    check_flag(return_scores, "return_scores")
    check_flag(return_suggestions, "return_suggestions")
    repair = repair_labels(X, labels, X_val, labels_val, C=C, alpha=alpha, model=model)
    result = (repair.harmful,)
    if return_suggestions:
        result += (repair.suggested,)
    if return_scores:
        result += (repair.phi,)
    return result if len(result) > 1 else result[0]
