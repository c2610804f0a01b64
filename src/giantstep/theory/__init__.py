"""Asymptotic theory: one module per result, each a set of small pure functions.

Modules
-------
mp                 Marchenko-Pastur law (density, Stieltjes transform, edges, moments)
bbp                BBP transitions: rectangular, spiked Wigner, spiked covariance
pennington_worah   conjugate-kernel spectrum of nonlinear random features
mei_montanari      random-features ridge risk, bias and variance
ge_ridge           Gaussian-equivalence + deterministic-equivalent ridge risk given the weights
one_step           the rank-one spike of one gradient step and the BBP outlier of W1
poly_spikes        polynomial feature spikes after a growing step
srf                spiked random features: parameters and fixed-point test error
feature_spectrum   deterministic equivalent of the feature spectrum after one maximal step
two_step           power counting of the second step
predictions        the predictions that apply to a ``steps`` run config

The conventions are those of docs/theory.md (convention P).
"""
