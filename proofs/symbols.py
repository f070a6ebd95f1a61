"""The symbols every proof, claim and checker shares.

Meaning (known to every checker in this package):

* ``t``: the timestep, a positive integer.
* ``alpha[k]``: the per-step signal factor, ``0 < alpha[k] < 1``.
* ``beta[k]``: the per-step noise variance, ``beta[k] = 1 - alpha[k]``.
* ``abar[k]``: ``alpha[1] * ... * alpha[k]`` (the DDPM paper's alpha-bar), so
  ``abar[k] = abar[k-1] * alpha[k]`` and ``abar[0] = 1``.
* ``sigma[k] > 0``: the reverse-process standard deviation, Sigma_theta = sigma[k]**2 I.
* ``noise_std``: the sigma of Problems 3 and 4: q_sigma(x_tilde | x) = N(x, sigma^2) and
  p(x | theta) = N(theta, sigma^2).
* ``x``, ``x_tilde``: real variables (data point and its noisy version in Problem 3; the
  observation in Problem 4's lemma).
* ``x_0``, ``x_t``, ``x_prev`` (printed ``x_{t-1}``), ``eps`` (printed ``epsilon``), ``eps_theta``
  (printed ``epsilon_theta``): the scalar stand-ins of the vectors of Problems 2 and 4 (isotropic
  Gaussians factor over coordinates, so one coordinate decides the identities). Every proof and the
  errata use these objects; SymPy compares symbols by name and assumptions, so a second spelling
  would be a different variable.
"""
from __future__ import annotations

import sympy as sp

t = sp.Symbol("t", integer=True, positive=True)
alpha = sp.IndexedBase("alpha", positive=True)
beta = sp.IndexedBase("beta", positive=True)
abar = sp.IndexedBase("abar", positive=True)
sigma = sp.IndexedBase("sigma", positive=True)
noise_std = sp.Symbol("noise_std", positive=True)
x = sp.Symbol("x", real=True)
x_tilde = sp.Symbol("x_tilde", real=True)
x_0 = sp.Symbol("x_0", real=True)
x_t = sp.Symbol("x_t", real=True)
x_prev = sp.Symbol("x_{t-1}", real=True)
eps = sp.Symbol("epsilon", real=True)
eps_theta = sp.Symbol("epsilon_theta", real=True)

#: Names a user may write in a claim, mapped to the objects above.
PUBLIC = {
    "t": t,
    "alpha": alpha,
    "beta": beta,
    "abar": abar,
    "sigma": sigma,
    "noise_std": noise_std,
    "x": x,
    "x_tilde": x_tilde,
}

#: The indexed families (sequences over the timestep).
SEQUENCES = (alpha, beta, abar, sigma)
SEQUENCE_NAMES = ("alpha", "beta", "abar", "sigma")


def family(item) -> str | None:
    """The name of the sequence an ``Indexed`` belongs to ("alpha", "abar", ...), else None.

    Compare by name, never with ``is``: SymPy's ``doit`` rebuilds an ``IndexedBase`` (dropping
    its assumptions), and its cache may then hand back the rebuilt object for ``abar[t]``."""
    if isinstance(item, sp.Indexed):
        return str(item.base.label)
    return None

__all__ = ["t", "alpha", "beta", "abar", "sigma", "noise_std", "x", "x_tilde", "x_0", "x_t", "x_prev", "eps",
           "eps_theta", "PUBLIC", "SEQUENCES", "SEQUENCE_NAMES", "family"]
