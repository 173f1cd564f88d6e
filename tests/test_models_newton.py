"""models/newton.py: the Steihaug-Toint step against closed forms, and the trust-region
Newton method on a quadratic and on Rosenbrock's function (indefinite Hessians)."""

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess_prod

from rdia.models import newton


def spd_matrix(p, seed, condition=1e3):
    """A seeded symmetric positive definite p x p matrix with the given condition."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return (Q * np.geomspace(1.0, condition, p)) @ Q.T


class Matrix:
    """A dense matrix as an operator with ``matvec``."""

    def __init__(self, A):
        self.A = A

    def matvec(self, v):
        return self.A @ v


class InverseOf:
    """M^{-1} of a dense symmetric positive definite M, as a preconditioner."""

    def __init__(self, M):
        self.M = M

    def solve(self, r):
        return np.linalg.solve(self.M, r)


@dataclass
class Point:
    w: np.ndarray
    value: float


class FunctionObjective:
    """The objective interface of models.newton around plain functions of w."""

    def __init__(self, value, gradient, hess_prod, preconditioner=None):
        self.value, self.grad, self.hess_prod = value, gradient, hess_prod
        self.M = preconditioner

    def evaluate(self, w):
        return Point(w=w, value=float(self.value(w)))

    def gradient(self, point):
        return np.asarray(self.grad(point.w), dtype=float)

    def hessian(self, point):
        hess_prod, w = self.hess_prod, point.w

        class Operator:
            def matvec(self, v):
                return hess_prod(w, v)
        return Operator()

    def preconditioner(self, point):
        return InverseOf(np.eye(len(point.w)) if self.M is None else self.M)


def quadratic(A, b, preconditioner=None):
    """J(w) = 1/2 w.Aw - b.w as an objective; its minimiser is A^{-1} b."""
    return FunctionObjective(lambda w: 0.5 * w @ A @ w - b @ w, lambda w: A @ w - b,
                             lambda w, v: A @ v, preconditioner)


@pytest.mark.parametrize("preconditioned", [False, True])
def test_an_interior_step_is_the_newton_step(preconditioned):
    H = spd_matrix(12, seed=0)
    g = np.random.default_rng(1).normal(size=12)
    M = np.diag(np.diag(H)) if preconditioned else np.eye(12)
    step = newton.steihaug_cg(Matrix(H), InverseOf(M), g, radius=1e6, rtol=1e-12,
                              max_iter=100)
    newton_step = -np.linalg.solve(H, g)
    np.testing.assert_allclose(step.s, newton_step, rtol=1e-8)
    assert not step.on_boundary
    assert step.model_value == pytest.approx(g @ newton_step / 2, rel=1e-10)
    assert step.norm == pytest.approx(np.sqrt(newton_step @ M @ newton_step), rel=1e-8)


@pytest.mark.parametrize("indefinite", [False, True])
def test_a_step_that_leaves_the_region_ends_on_its_boundary_in_the_M_norm(indefinite):
    """The M-norm from the CG recurrences equals sqrt(s.Ms) computed directly, and
    the step lowers the model; with negative curvature it still reaches the boundary."""
    H = spd_matrix(10, seed=2)
    if indefinite:
        H -= 2.0 * np.eye(10)
    g = np.random.default_rng(3).normal(size=10)
    M = spd_matrix(10, seed=4, condition=10.0)
    radius = 0.05
    step = newton.steihaug_cg(Matrix(H), InverseOf(M), g, radius, rtol=1e-12, max_iter=100)
    assert step.on_boundary
    assert np.sqrt(step.s @ M @ step.s) == pytest.approx(radius, rel=1e-9)
    assert step.norm == pytest.approx(radius, rel=1e-12)
    model = g @ step.s + 0.5 * step.s @ H @ step.s
    assert step.model_value == pytest.approx(model, rel=1e-9)
    assert model < 0


@pytest.mark.parametrize("preconditioned", [False, True])
def test_minimise_finds_the_minimiser_of_a_quadratic(preconditioned):
    A = spd_matrix(30, seed=5, condition=1e4)
    b = np.random.default_rng(6).normal(size=30)
    M = np.diag(np.diag(A)) if preconditioned else None
    result = newton.minimise(quadratic(A, b, M), np.zeros(30), tol=1e-10)
    assert result.converged and result.message == "converged"
    np.testing.assert_allclose(result.w, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    assert result.gradient_max <= 1e-10


@pytest.mark.parametrize("start", [(-1.2, 1.0), (2.0, -1.5, 0.5, 3.0)])
def test_minimise_finds_the_minimum_of_rosenbrock(start):
    """Rosenbrock's Hessian is indefinite away from the valley: the region guards it."""
    objective = FunctionObjective(rosen, rosen_der, rosen_hess_prod)
    result = newton.minimise(objective, np.array(start), tol=1e-9, max_iter=200)
    assert result.converged
    np.testing.assert_allclose(result.w, np.ones(len(start)), atol=1e-8)


def test_minimise_reports_the_iteration_limit():
    objective = FunctionObjective(rosen, rosen_der, rosen_hess_prod)
    result = newton.minimise(objective, np.array([-1.2, 1.0]), tol=1e-12, max_iter=3)
    assert not result.converged and result.n_iter == 3
    assert result.message == "reached the limit of 3 iterations"
    assert result.gradient_max > 1e-12


def test_forcing_term_tightens_as_the_gradient_falls():
    assert newton.forcing_term(1.0, 1.0) == 0.5
    assert newton.forcing_term(1e-8, 1.0) == pytest.approx(1e-4)


def test_minimise_stops_where_J_no_longer_decreases_in_floating_point():
    """With tol = 0 no iterate passes the test; the method stops at the rounding level
    of J, near the minimiser, instead of running to max_iter."""
    A = spd_matrix(30, seed=5, condition=1e4)
    b = np.random.default_rng(6).normal(size=30)
    result = newton.minimise(quadratic(A, b), np.zeros(30), tol=0.0, max_iter=1000)
    assert not result.converged and result.n_iter < 100
    assert result.message == "J no longer decreases in floating point"
    np.testing.assert_allclose(result.w, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)


def test_the_progress_bar_shows_steps_and_the_gradient_when_asked(monkeypatch, capsys):
    monkeypatch.setattr(newton, "PROGRESS_DELAY", 0.0)  # show it from the first step
    objective = FunctionObjective(rosen, rosen_der, rosen_hess_prod)
    result = newton.minimise(objective, np.array([-1.2, 1.0]), tol=1e-9, max_iter=200,
                             progress=True)
    shown = capsys.readouterr().err
    assert "Newton fit" in shown and "max|grad J|" in shown and "(tol 1e-09)" in shown
    assert f"{result.n_iter}step" in shown.replace(" ", "")


@pytest.mark.parametrize("progress", [None, False])
def test_no_progress_bar_off_a_terminal_or_when_turned_off(monkeypatch, capsys, progress):
    """pytest's stderr is not a terminal: None shows nothing there, False nowhere."""
    monkeypatch.setattr(newton, "PROGRESS_DELAY", 0.0)
    objective = FunctionObjective(rosen, rosen_der, rosen_hess_prod)
    newton.minimise(objective, np.array([-1.2, 1.0]), tol=1e-9, max_iter=200,
                    progress=progress)
    assert capsys.readouterr().err == ""
