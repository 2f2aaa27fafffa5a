"""Central moments of a window, one value in or out: updates that only see deviations.

M_k = sum over the window of (x - mean)^k. Adding x to n values (mean mu):
d = x - mu, dn = d / (n + 1), t1 = d * dn * n, then
  M4 += t1 dn^2 (n1^2 - 3 n1 + 3) + 6 dn^2 M2 - 4 dn M3,  M3 += t1 dn (n1 - 2) - 3 dn M2,  M2 += t1
with n1 = n + 1 (Welford; Terriberry; Pebay 2008). Removing is the exact
inverse, with d taken against the mean of the values that remain. Only
deviations from the mean enter, so the price level (60,000) or a shift far from
the data costs no digits, unlike sum(x^2) - sum(x)^2 / n.
"""
from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True, inline="always")
def add_one(n, m2, m3, m4, d):
    """(M2, M3, M4) after adding x to n values; d = x - (mean of the n values)."""
    n1 = n + 1.0
    dn = d / n1
    dn2 = dn * dn
    t1 = d * dn * n
    m4 = m4 + t1 * dn2 * (n1 * n1 - 3.0 * n1 + 3.0) + 6.0 * dn2 * m2 - 4.0 * dn * m3
    m3 = m3 + t1 * dn * (n1 - 2.0) - 3.0 * dn * m2
    return m2 + t1, m3, m4


@numba.njit(cache=True, nogil=True, inline="always")
def remove_one(n1, m2, m3, m4, d):
    """(M2, M3, M4) after removing x from n1 values; d = x - (mean of the n1 - 1 that remain)."""
    n = n1 - 1.0
    dn = d / n1
    dn2 = dn * dn
    t1 = d * dn * n
    m2 = m2 - t1
    m3 = m3 - t1 * dn * (n1 - 2.0) + 3.0 * dn * m2
    m4 = m4 - t1 * dn2 * (n1 * n1 - 3.0 * n1 + 3.0) - 6.0 * dn2 * m2 + 4.0 * dn * m3
    return m2, m3, m4
