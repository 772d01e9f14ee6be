"""Plain references of the ILP-Loss formulas: loops over samples, negatives and rows.

Values and hand-derived gradients of the three terms (``combopt_torch.ilploss.loss``'s
docstring states them), in float64 numpy, for tiny cases. For a row ``(a, beta)`` the signed
distance at ``z`` is ``d = (beta - a.z) / |a|``, with ``dd/dbeta = 1 / |a|`` and
``dd/da = -z / |a| - (beta - a.z) a / |a|^3``. The soft-min weights are constants.
"""

from __future__ import annotations

import numpy as np


def _distance(a, beta, z):
    norm = np.linalg.norm(a)
    d = (beta - a @ z) / norm
    return d, -z / norm - (beta - a @ z) * a / norm**3, 1.0 / norm


def _weights(d, temperature):
    if temperature == 0:
        w = np.zeros_like(d)
        w[np.argmin(d)] = 1.0
        return w
    e = np.exp(-(d - d.min()) / temperature)
    return e / e.sum()


def reference_terms(A, b, c, y, neg, pos_margin, neg_margin, temperature, learn_cost):
    """``({"pos", "neg", "var"}, {term: (dA, db, dc)})`` for shared ``A (m, n)``, ``b (m,)``."""
    m, n = A.shape
    B = len(y)
    values = {"pos": 0.0, "neg": 0.0, "var": 0.0}
    grads = {t: [np.zeros_like(A), np.zeros_like(b), np.zeros_like(c)] for t in values}
    for i in range(B):
        for k in range(m):
            d, da, db = _distance(A[k], b[k], y[i])
            if pos_margin - d > 0:
                values["pos"] += (pos_margin - d) / (m * B)
                grads["pos"][0][k] -= da / (m * B)
                grads["pos"][1][k] -= db / (m * B)
        rows = []  # per negative: (distances, their gradients)
        counted = []
        for z in neg[i]:
            ds = [_distance(A[k], b[k], z) for k in range(m)]
            if learn_cost:  # the row c.z <= c.y_i: a = c_i, beta = c_i.y_i
                norm = np.linalg.norm(c[i])
                gap = c[i] @ (y[i] - z)
                dc = (y[i] - z) / norm - gap * c[i] / norm**3
                ds.append((gap / norm, dc, None))
            elif c[i] @ z > c[i] @ y[i]:
                continue  # costlier than gold: does not count
            rows.append(ds)
            counted.append(z)
        for ds in rows:
            d = np.array([x[0] for x in ds])
            w = _weights(d, temperature)
            scale = 1.0 / (len(rows) * B)
            for k, (dk, da, db) in enumerate(ds):
                if neg_margin + dk > 0:
                    values["neg"] += scale * w[k] * (neg_margin + dk)
                    if k < m:
                        grads["neg"][0][k] += scale * w[k] * da
                        grads["neg"][1][k] += scale * w[k] * db
                    else:
                        grads["neg"][2][i] += scale * w[k] * da
    unit = A / np.linalg.norm(A, axis=1, keepdims=True)
    mean = unit.mean(0)
    values["var"] = float(mean @ mean) / n
    for k in range(m):
        norm = np.linalg.norm(A[k])
        jac = (np.eye(n) - np.outer(unit[k], unit[k])) / norm  # d unit_k / d a_k
        grads["var"][0][k] = 2.0 / (n * m) * jac @ mean
    return values, grads
