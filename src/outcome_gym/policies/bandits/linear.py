"""LinUCB's ridge-regression maths: statistics, UCB scores and updates, per arm (and group).

Two forms of every formula: the reference one for any features (used as is for per-user models),
and the per-block one the pooled models use. Within a block — the users of one group and one
segment — features are ``x = c + e(z)``: a vector ``c`` every user shares (zero in the per-user
columns ``var``) plus the user's own values ``z`` placed in those columns. Scores and regression
sums are then linear in the per-user terms ``q = [1, z, z_k z_l for k <= l]``, so a step costs a
few multiply-adds per user and arm instead of d^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.errors import PolicyError


@dataclass
class _Linear:
    """Per group and arm: ridge statistics A (None when kept only as inverse), A^-1, b, theta."""

    a: np.ndarray | None
    a_inv: np.ndarray
    b: np.ndarray
    theta: np.ndarray

    def pooled_a(self) -> np.ndarray:
        """A itself, which pooled models keep (per-user models keep only A^-1)."""
        if self.a is None:  # pragma: no cover - invariant
            raise PolicyError("linucb: pooled statistics missing")
        return self.a


@dataclass
class _Moment:
    """LinUCB's view of one step: x = shared[segment] + the per-user columns ``z``.

    Attributes:
        shared: K x d, the features every user of a segment shares now (zero in the per-user
            columns): bias, segment one-hot, slot one-hot, weekend flag.
        q: Q x N per-user terms ``[1, z, z_k z_l for k <= l]`` (feature-major), in which both a
            UCB score and the regression sums are linear.
        x: N x d full features (only kept for per-user models).
    """

    shared: np.ndarray
    q: np.ndarray
    x: np.ndarray | None


def _linucb_scores(
    theta: np.ndarray, a_inv: np.ndarray, x: np.ndarray, alpha: float
) -> np.ndarray:
    """UCB scores ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``, n x A, for n users and A arms.

    The reference formula for any features (used as is for per-user models).

    Args:
        theta: A x d (one model for everyone) or n x A x d (one per user).
        a_inv: A x d x d or n x A x d x d, matching ``theta``.
        x: n x d features.
        alpha: Exploration weight.
    """
    if theta.ndim == 2:
        mean = x @ theta.T
        proj = np.einsum("ade,ne->nad", a_inv, x)
    else:
        mean = np.einsum("nad,nd->na", theta, x)
        proj = np.einsum("nade,ne->nad", a_inv, x)
    width = np.einsum("nad,nd->na", proj, x)
    return mean + alpha * np.sqrt(np.maximum(width, 0.0))


def _quadratic_terms(zt: np.ndarray) -> np.ndarray:
    """``[1, z, z_k z_l for k <= l]`` (Q x n) of per-user columns ``zt`` (v x n)."""
    v, n = zt.shape
    iu, ju = np.triu_indices(v)
    q = np.empty((1 + v + iu.size, n))
    q[0] = 1.0
    q[1 : 1 + v] = zt
    np.multiply(zt[iu], zt[ju], out=q[1 + v :])
    return q


def _combine(coef: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``coef @ q`` (A x Q by Q x n, ``q[0] == 1``) as a loop over the Q terms.

    Elementwise NumPy rather than BLAS: for this skinny product it is as fast single-threaded,
    and it does not slow down when a multi-threaded BLAS competes for busy cores.
    """
    out = np.empty((coef.shape[0], q.shape[1]))
    out[:] = coef[:, :1]
    term = np.empty_like(out)
    for k in range(1, coef.shape[1]):
        np.multiply(coef[:, k : k + 1], q[k], out=term)
        out += term
    return out


def _score_coefficients(
    theta: np.ndarray, a_inv: np.ndarray, c: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and squared-width coefficients (A x Q each) on the terms of :func:`_quadratic_terms`.

    With x = c + e(z) (``c`` zero in ``var``, e(z) placing z there): ``theta . x = theta . c +
    theta[var] . z`` and ``x' M x = c' M c + 2 (M c)[var] . z + sum_{k<=l} (2 - [k=l]) M[k, l]
    z_k z_l``, so per user a score costs Q multiply-adds per arm instead of d^2.
    """
    n_arms, v = theta.shape[0], var.size
    iu, ju = np.triu_indices(v)
    mean = np.zeros((n_arms, 1 + v + iu.size))
    mean[:, 0] = theta @ c
    mean[:, 1 : 1 + v] = theta[:, var]
    width = np.empty_like(mean)
    width[:, 0] = np.einsum("i,aij,j->a", c, a_inv, c)
    width[:, 1 : 1 + v] = 2.0 * (a_inv[:, var] @ c)
    width[:, 1 + v :] = a_inv[:, var[iu], var[ju]] * np.where(iu == ju, 1.0, 2.0)
    return mean, width


def _block_scores(
    theta: np.ndarray, a_inv: np.ndarray, c: np.ndarray, var: np.ndarray, q: np.ndarray,
    alpha: float,
) -> np.ndarray:
    """Arm-major (A x n) UCB scores of one block's users from their terms ``q`` (Q x n)."""
    mean, width = _score_coefficients(theta, a_inv, c, var)
    avg = _combine(mean[:, : 1 + var.size], q[: 1 + var.size])
    spread = _combine(width, q)
    np.maximum(spread, 0.0, out=spread)
    np.sqrt(spread, out=spread)
    spread *= alpha
    spread += avg
    return spread


def _add_block_sums(
    st: _Linear, g: int, arm: int, c: np.ndarray, var: np.ndarray, s: np.ndarray, rs: np.ndarray
) -> None:
    """Add one block's sums of q (``s``) and of r [1, z] (``rs``) to group ``g``'s A and b.

    Within a block x = c + e(z), so ``sum x x' = n c c' + c e(sum z)' + e(sum z) c' +
    e(sum z z')`` and ``sum r x = (sum r) c + e(sum r z)``.
    """
    a = st.pooled_a()
    v = var.size
    iu, ju = np.triu_indices(v)
    sz = np.zeros_like(c)
    sz[var] = s[1 : 1 + v]
    zz = np.zeros((v, v))
    zz[iu, ju] = s[1 + v :]
    zz[ju, iu] = s[1 + v :]
    cz = np.outer(c, sz)
    a[g, arm] += s[0] * np.outer(c, c) + cz + cz.T
    a[g, arm][np.ix_(var, var)] += zz
    srz = np.zeros_like(c)
    srz[var] = rs[1:]
    st.b[g, arm] += rs[0] * c + srz


def _linucb_pooled_update(
    st: _Linear, groups: np.ndarray, arms: np.ndarray, x: np.ndarray, reward: np.ndarray
) -> None:
    """``A += X'X``, ``b += X'r`` for every (group, arm) touched; then refresh A^-1 and theta.

    The reference formula for any features (n x d); the policy gets the same sums from per-block
    moments (:func:`_add_block_sums`).
    """
    a = st.pooled_a()
    n_arms = st.b.shape[1]
    key = groups * n_arms + arms
    for k in np.unique(key).tolist():
        g, arm = divmod(k, n_arms)
        rows = key == k
        a[g, arm] += x[rows].T @ x[rows]
        st.b[g, arm] += x[rows].T @ reward[rows]
    _refresh(st, np.unique(groups))


def _refresh(st: _Linear, groups: np.ndarray) -> None:
    """Recompute A^-1 and theta of ``groups`` from A and b."""
    st.a_inv[groups] = np.linalg.inv(st.pooled_a()[groups])
    st.theta[groups] = np.einsum("gade,gae->gad", st.a_inv[groups], st.b[groups])


def _linucb_user_update(
    st: _Linear, users: np.ndarray, arms: np.ndarray, x: np.ndarray, reward: np.ndarray
) -> None:
    """One rank-one (Sherman-Morrison) update per user on that user's chosen arm."""
    a_inv = st.a_inv[users, arms]
    v = np.einsum("nde,ne->nd", a_inv, x)
    denom = 1.0 + np.einsum("nd,nd->n", v, x)
    a_inv = a_inv - v[:, :, None] * v[:, None, :] / denom[:, None, None]
    b = st.b[users, arms] + reward[:, None] * x
    st.a_inv[users, arms] = a_inv
    st.b[users, arms] = b
    st.theta[users, arms] = np.einsum("nde,ne->nd", a_inv, b)
