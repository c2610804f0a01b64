r"""Straightforward reference of one step + spectra + ridge readout, written the way public
notebooks do it: every matrix materialised, full ``numpy.linalg.svd`` for each spectrum, an explicit
``numpy.linalg.inv`` for the ridge system. Used only to compare speed and results with the
library on the same data (same W0, a, Theta*, batches); never used by the library itself.

Formulas (convention P, docs/theory.md, section 0): f(x) = a^T sigma(W x) / sqrt(N); one step
W1 = W0 + eta / (n sqrt(N)) diag(a) [sigma'(X W0^T) (.) r]^T X with r = y - f(X);
ridge readout on centered features, a_hat = (F_c^T F_c / n + ridge I)^{-1} F_c^T y_c / n.

Evaluation order as in the public GiantStep notebook's single-step cell (read, not copied): the
network output f(X) and the derivative sigma'(X W0^T) each compute their own X W0^T (the
notebook's ``fnn0(Z, W0, a0)`` and ``fprime(Z @ W0.T)``), so the step under the ``full`` residual
does that product twice; the ridge coefficients are ``inv(G) @ F^T @ y`` evaluated left to right,
as Python does (the notebook's ``ridge_estimator``): an N x N by N x n product, 2 n N^2 flops,
before the product with y. Every other product is the one the formula needs.
"""

from __future__ import annotations

import math

import numpy as np


def reference_one_step(cfg) -> dict[str, float]:
    """Metrics of a one-step ``steps`` config (``w0.s1``, ``w1.s1``, ``dw1.s1``, ``readout.*``, ...).

    Names match the library's flat metrics; s_j for j = 1..3, ``overlap1`` with theta*_1.
    """
    from giantstep.experiments.steps import batch, build
    from giantstep.training import step_size

    net0, teacher = build(cfg)
    sigma = net0.activation
    W0, a = net0.W, net0.a
    N = W0.shape[0]
    X, y = batch(cfg, teacher, 0).materialize()
    n = X.shape[0]
    # the step's residual as the config states it: 'full' r = y - f0 (f0 with its own X W0^T, as
    # the notebook's fnn0); 'label' r = y; 'centered' r = y - (f - f0) = y at the first step
    r = y - sigma.f(X @ W0.T) @ a / math.sqrt(N) if cfg.residual == "full" else y
    grad = -((sigma.df(X @ W0.T) * r[:, None]) * a[None, :]).T @ X / (n * math.sqrt(N))
    eta = step_size(cfg.steps[0].eta0, cfg.steps[0].alpha, N)
    W1 = W0 - eta * grad
    theta = teacher.theta[:, 0]
    out: dict[str, float] = {}
    for name, M in (("w0", W0), ("w1", W1), ("dw1", W1 - W0)):
        U, s, Vt = np.linalg.svd(M)
        for j in range(3):
            out[f"{name}.s{j + 1}"] = float(s[j])
            out[f"{name}.overlap{j + 1}"] = float(abs(Vt[j] @ theta))
    ro = cfg.readout
    Xtr, ytr = batch(cfg, teacher, "readout-train", ro.n_train).materialize()
    F = sigma.f(Xtr @ W1.T)
    mean, ybar = F.mean(axis=0), ytr.mean()
    Fc = F - mean
    A = np.linalg.inv(Fc.T @ Fc / Xtr.shape[0] + ro.ridge * np.eye(N)) @ Fc.T @ (ytr - ybar) / Xtr.shape[0]
    out["readout.train_error"] = float(np.mean((ytr - ybar - Fc @ A) ** 2))
    Xte, yte = batch(cfg, teacher, "readout-test", ro.n_test).materialize()
    yhat = ybar + (sigma.f(Xte @ W1.T) - mean) @ A
    out["readout.test_error"] = float(np.mean((teacher.clean(teacher.latent(Xte)) - yhat) ** 2))
    out["readout.test_mse"] = float(np.mean((yte - yhat) ** 2))
    return out
