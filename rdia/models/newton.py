"""Trust-region Newton minimisation on Hessian-vector products, with a preconditioner.

Minimises a smooth J(w) over a flat parameter vector w. At every iterate the step s
approximately minimises the quadratic model

    m(s) = g . s + 1/2 s . H s      within     ||s||_M = sqrt(s . M s) <= radius,

by preconditioned conjugate gradients that stop at the trust-region boundary or on a
direction of negative curvature (Steihaug 1983, Toint 1981; the M-norm region of Conn,
Gould and Toint, "Trust-Region Methods", 2000, section 7.5). H is used only through
products H v and M only through M^{-1} r, so the method runs on the operators of
``models.linear`` (one product H v costs two passes over X) and accepts their
preconditioners; H may be indefinite (softmax with relabeled samples is not convex).
CG stops early, at ||r|| <= eta ||g|| with eta = min(1/2, sqrt(||g|| / ||g_0||)), so
far from the minimiser a step costs few products and near it the steps become exact
Newton steps (superlinear convergence).

The step is accepted when the actual decrease of J is at least ETA times the decrease
the model predicts. Near the minimiser both decreases fall to the rounding error of J;
there (predicted decrease below ROUNDING |J|) the step is accepted when it lowers the
gradient norm instead.

The objective is any object with four methods (``models.softmax.SoftmaxObjective``):

- ``evaluate(w)``: a point holding ``value`` (J at w) and whatever else is reused;
- ``gradient(point)``: grad J at the point, shape (p,);
- ``hessian(point)``: an operator with ``matvec(v)``, shape (p,) -> (p,);
- ``preconditioner(point)``: an object with ``solve(r)`` = M^{-1} r, M symmetric
  positive definite.
"""

from dataclasses import dataclass

import numpy as np

#: Accept a step when actual / predicted decrease of J is above this.
ETA = 1e-4

#: Below this fraction of |J| a predicted decrease is within the rounding of J.
ROUNDING = 1e-12

#: Consecutive steps rejected in the rounding regime after which the iterate is taken
#: as the numerical minimiser.
MAX_ROUNDING_REJECTIONS = 5

#: Seconds a fit runs before its progress bar appears: short fits print nothing.
PROGRESS_DELAY = 1.0


@dataclass
class Step:
    """A trust-region step and what it cost.

    Attributes
    ----------
    s : ndarray of shape (p,)
        The step.
    model_value : float
        m(s) = g . s + 1/2 s . H s (negative for a useful step).
    norm : float
        ||s||_M.
    on_boundary : bool
        The step stopped at the trust-region boundary.
    n_hvp : int
        Hessian-vector products used.
    """

    s: np.ndarray
    model_value: float
    norm: float
    on_boundary: bool
    n_hvp: int


@dataclass
class NewtonResult:
    """Outcome of :func:`minimise`.

    Attributes
    ----------
    w : ndarray of shape (p,)
        Last accepted iterate.
    converged : bool
        max |grad J(w)| <= tol.
    message : str
        Why it stopped.
    n_iter : int
        Trust-region iterations (steps tried, accepted or not).
    n_hvp : int
        Hessian-vector products over all iterations.
    gradient_max : float
        max |grad J(w)| at w.
    """

    w: np.ndarray
    converged: bool
    message: str
    n_iter: int
    n_hvp: int
    gradient_max: float


def boundary_distance(sMs, sMp, pMp, radius):
    """tau >= 0 with ||s + tau p||_M = radius, from s.Ms, s.Mp and p.Mp (a float)."""
    gap = max(radius * radius - sMs, 0.0)
    return (-sMp + np.sqrt(sMp * sMp + pMp * gap)) / pMp


def steihaug_cg(hessian, preconditioner, g, radius, rtol, max_iter):
    """Approximately minimise m(s) = g . s + 1/2 s . H s subject to ||s||_M <= radius.

    Preconditioned CG from s = 0, which stops when ||g + H s|| <= rtol ||g||, when the
    next iterate would leave the region, or on a direction p with p . H p <= 0; the last
    two end on the boundary. The M-norms of s follow from the CG recurrences
    (s.Mp and p.Mp), so M is only ever applied as M^{-1}.

    Parameters
    ----------
    hessian : object with ``matvec``
        H, symmetric.
    preconditioner : object with ``solve``
        M^{-1}, symmetric positive definite.
    g : ndarray of shape (p,)
        Gradient at the current iterate, not zero.
    radius : float
        Trust-region radius in the M-norm, > 0.
    rtol : float
        Relative residual at which to stop.
    max_iter : int
        CG iteration limit; the step reached then is returned.

    Returns
    -------
    step : Step
    """
    s = np.zeros_like(g)
    r = g.copy()                       # gradient of the model at s: g + H s
    z = preconditioner.solve(r)
    p = -z
    rz = r @ z
    sMs, sMp, pMp = 0.0, 0.0, rz
    stop = rtol * np.linalg.norm(g)
    n_hvp = 0
    on_boundary = False
    while n_hvp < max_iter:
        Hp = hessian.matvec(p)
        n_hvp += 1
        curvature = p @ Hp
        alpha = rz / curvature if curvature > 0 else np.inf
        if alpha == np.inf or sMs + 2 * alpha * sMp + alpha * alpha * pMp >= radius ** 2:
            tau = boundary_distance(sMs, sMp, pMp, radius)
            s += tau * p
            r += tau * Hp
            sMs, on_boundary = radius ** 2, True
            break
        s += alpha * p
        r += alpha * Hp
        sMs += 2 * alpha * sMp + alpha * alpha * pMp
        if np.linalg.norm(r) <= stop:
            break
        z = preconditioner.solve(r)
        rz_next = r @ z
        beta = rz_next / rz
        sMp = beta * (sMp + alpha * pMp)
        pMp = rz_next + beta * beta * pMp
        p = -z + beta * p
        rz = rz_next
    # m(s) = g.s + 1/2 s.Hs and H s = r - g, so m(s) = (g.s + r.s) / 2.
    return Step(s=s, model_value=0.5 * float(g @ s + r @ s), norm=float(np.sqrt(sMs)),
                on_boundary=on_boundary, n_hvp=n_hvp)


def forcing_term(gradient_norm, initial_norm):
    """CG's relative residual for one step: min(1/2, sqrt(||g|| / ||g_0||))."""
    return min(0.5, float(np.sqrt(gradient_norm / initial_norm)))


def updated_radius(radius, rho, step):
    """Shrink the radius after a poor model fit, widen it after a good boundary step."""
    if rho < 0.25:
        return 0.25 * min(radius, step.norm)
    if rho > 0.75 and step.on_boundary:
        return 2.0 * radius
    return radius


def progress_bar(progress):
    """A tqdm bar of Newton steps on stderr, shown after PROGRESS_DELAY seconds.

    ``progress`` None shows it only when stderr is a terminal; False never, True always.
    """
    from tqdm import tqdm

    return tqdm(desc="Newton fit", unit="step", leave=False, delay=PROGRESS_DELAY,
                disable=None if progress is None else not progress)


def minimise(objective, w0, tol=1e-5, max_iter=1000, max_cg=1000, progress=None):
    """Minimise J from w0 by trust-region Newton until max |grad J| <= tol.

    Parameters
    ----------
    objective : object
        ``evaluate``, ``gradient``, ``hessian`` and ``preconditioner`` (module
        docstring).
    w0 : ndarray of shape (p,)
        Starting point.
    tol : float, default=1e-5
        Stop when every gradient entry is at most tol in absolute value.
    max_iter : int, default=1000
        Trust-region iteration limit.
    max_cg : int, default=1000
        CG iteration limit of one step.
    progress : bool or None, default=None
        A progress bar of the steps with max |grad J| (:func:`progress_bar`); None
        shows it on a terminal only.

    Returns
    -------
    result : NewtonResult
        ``converged`` is False when ``max_iter`` was reached, or when the steps stalled
        at the rounding level of J (``message`` says which).
    """
    point = objective.evaluate(np.asarray(w0, dtype=float))
    w = np.asarray(w0, dtype=float)
    g = objective.gradient(point)
    with progress_bar(progress) as bar:
        w, g, n_iter, n_hvp, message = _iterate(objective, point, w, g, tol, max_iter,
                                                max_cg, bar)
    converged = bool(np.abs(g).max() <= tol)
    return NewtonResult(w=w, converged=converged,
                        message="converged" if converged else message, n_iter=n_iter,
                        n_hvp=n_hvp, gradient_max=float(np.abs(g).max()))


def _iterate(objective, point, w, g, tol, max_iter, max_cg, bar):
    """The trust-region loop of :func:`minimise`; returns w, g, n_iter, n_hvp and why it
    stopped short of tol (when it did)."""
    message = f"reached the limit of {max_iter} iterations"
    initial_norm = max(np.linalg.norm(g), np.finfo(float).tiny)
    radius, preconditioner, n_iter, n_hvp, rounding_rejections = None, None, 0, 0, 0
    while np.abs(g).max() > tol:
        if n_iter == max_iter:
            break
        if rounding_rejections == MAX_ROUNDING_REJECTIONS:
            message = "J no longer decreases in floating point"
            break
        if preconditioner is None:  # built once per accepted iterate
            preconditioner = objective.preconditioner(point)
        if radius is None:  # the M-norm of the preconditioned gradient step
            radius = float(np.sqrt(g @ preconditioner.solve(g)))
        step = steihaug_cg(objective.hessian(point), preconditioner, g, radius,
                           forcing_term(np.linalg.norm(g), initial_norm), max_cg)
        n_iter += 1
        n_hvp += step.n_hvp
        trial = objective.evaluate(w + step.s)
        predicted = -step.model_value
        if predicted <= ROUNDING * max(abs(point.value), 1.0):
            g_trial = objective.gradient(trial)
            accept = np.linalg.norm(g_trial) < np.linalg.norm(g)
            rounding_rejections = 0 if accept else rounding_rejections + 1
            rho = 1.0 if accept else 0.0
        else:
            rho = (point.value - trial.value) / predicted
            accept = rho > ETA
            g_trial = objective.gradient(trial) if accept else None
            rounding_rejections = 0
        radius = updated_radius(radius, rho, step)
        if accept:
            w, point, g, preconditioner = w + step.s, trial, g_trial, None
        bar.update()
        bar.set_postfix_str(f"max|grad J| {np.abs(g).max():.1e} (tol {tol:.0e})")
    return w, g, n_iter, n_hvp, message
