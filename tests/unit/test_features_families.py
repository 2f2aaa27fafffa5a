"""Every windowed family against a full-window numpy recomputation over the same bars.

The references recompute each window from scratch in long double (64-bit
mantissa), two-pass (mean, then deviations), so they share no running sum,
shift or deque with the kernel. Series: normal, flat (constant price with
empty bars after a moving history), tiny moves at a high level (60,000 +-
0.01) and violent. NaN must fall exactly where the reference is undefined.

Tolerance: 1e-9 relative to max(|reference|, a floor of the family's natural
magnitude). Moments of returns are ill-conditioned when the returns of a
window are nearly equal (five +1 tick moves at 60,000 agree to 7 digits):
there the bound is 16 eps |mean| / std, the change one last-bit error in the
float64 returns makes; the kernel stays within 4x that.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from aggregator.features import batch, index_of, synthetic
from aggregator.features.layout import WINDOWS

N_BARS = 1000
LD = np.longdouble
LN2 = np.log(LD(2))


@pytest.fixture(scope="module", params=synthetic.KINDS)
def case(request):
    bars = synthetic.bars(request.param, N_BARS, seed=7)
    return request.param, series(bars), batch.compute_records(bars)


def series(bars):
    s = {k: bars[k].astype(LD) for k in ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "vwap")}
    s["count"] = bars["count"].astype(LD)
    c = s["close"]
    # returns as the kernel's float64 inputs (math.log of the float64 ratio); statistics in long double
    close = bars["close"].tolist()
    s["r"] = np.array([np.nan] + [math.log(b / a) for a, b in zip(close, close[1:])], dtype=LD)
    s["d"] = np.concatenate([[LD(np.nan)], c[1:] - c[:-1]])
    s["moments"] = {}  # (series, w) -> rolling central moments, shared by the families
    return s


def window_moments(s, key, w):
    """Rolling (mean, m2, m3, m4) of series ``key`` ("close", "volume" or "r"), cached per case."""
    if (key, w) not in s["moments"]:
        x, start = s[key], (1 if key == "r" else 0)
        result = [np.full(len(x), LD(np.nan)) for _ in range(4)]
        if len(x) - start >= w:
            for k, m in enumerate(moments(sliding_window_view(x[start:], w))):
                result[k][start + w - 1:] = m
        s["moments"][key, w] = result
    return s["moments"][key, w]


def rolling(x, w, fn, returns=False):
    """fn over each window of the last w values (rows), aligned to the window's last bar."""
    out = np.full(len(x), np.nan)
    start = 1 if returns else 0  # return windows start at bar 1 (bar 0 has no return)
    if len(x) - start >= w:
        out[start + w - 1:] = fn(sliding_window_view(x[start:], w)).astype(np.float64)
    return out


def div(a, b):
    """a / b, NaN where b is exactly 0 (undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b))


def moments(x):
    m = x.mean(axis=1, keepdims=True)
    d = x - m
    return m[:, 0], (d**2).mean(axis=1), (d**3).mean(axis=1), (d**4).mean(axis=1)


def ref(family, s, w):
    """Feature ``family_w`` at every bar, recomputed window by window from the raw bars."""
    c, h, l, v = s["close"], s["high"], s["low"], s["volume"]
    if family == "sma":
        return rolling(c, w, lambda x: x.mean(axis=1))
    if family == "smadist":
        return rolling(c, w, lambda x: (x[:, -1] - x.mean(axis=1)) / x.mean(axis=1))
    if family in ("std", "zscore", "bb_pctb", "bbwidth"):
        mean, m2, _, _ = window_moments(s, "close", w)
        std = np.sqrt(m2)
        if family == "std":
            return std.astype(np.float64)
        if family == "zscore":
            return div(c - mean, std).astype(np.float64)
        if family == "bb_pctb":
            return div(c - mean + 2 * std, 4 * std).astype(np.float64)
        return (4 * std / mean).astype(np.float64)
    if family in ("retmean", "skew", "kurt", "retstd"):
        mean, m2, m3, m4 = window_moments(s, "r", w)
        if family == "retmean":
            return mean.astype(np.float64)
        if family == "retstd":
            return np.sqrt(m2).astype(np.float64)
        if family == "skew":
            return div(m3, m2 * np.sqrt(m2)).astype(np.float64)
        return (div(m4, m2 * m2) - 3).astype(np.float64)
    if family == "pvcorr":
        rv = np.stack([s["r"], v], axis=1)
        def corr(x):  # x: (k, 2, w)
            a, b = x[:, 0], x[:, 1]
            da, db = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
            den = (da**2).sum(axis=1) * (db**2).sum(axis=1)
            return div((da * db).sum(axis=1), np.sqrt(den))
        out = np.full(len(c), np.nan)
        out[w:] = corr(sliding_window_view(rv[1:], w, axis=0)).astype(np.float64)
        return out
    if family == "rvol":
        return rolling(s["r"], w, lambda x: np.sqrt((x**2).sum(axis=1)), returns=True)
    if family == "parkinson":
        return rolling(np.log(h / l) ** 2, w, lambda x: np.sqrt(x.mean(axis=1) / (4 * LN2)))
    if family == "gk":
        term = 0.5 * np.log(h / l) ** 2 - (2 * LN2 - 1) * np.log(c / s["open"]) ** 2
        return rolling(term, w, lambda x: np.sqrt(np.where(x.mean(axis=1) < 0, np.nan, x.mean(axis=1))))
    if family == "rs":
        o = s["open"]
        term = np.log(h / c) * np.log(h / o) + np.log(l / c) * np.log(l / o)
        return rolling(term, w, lambda x: np.sqrt(x.mean(axis=1)))
    if family in ("stoch_k", "willr", "maxdist", "mindist", "rangewidth", "hhage", "llage"):
        def fn(ix):
            hh, ll, close = h[ix].max(axis=1), l[ix].min(axis=1), c[ix[:, -1]]
            if family == "stoch_k":
                return div((close - ll) * 100, hh - ll)
            if family == "willr":
                return div((hh - close) * -100, hh - ll)
            if family == "maxdist":
                return close / hh - 1
            if family == "mindist":
                return close / ll - 1
            if family == "rangewidth":
                return (hh - ll) / close
            side = h[ix] if family == "hhage" else -l[ix]
            newest_extreme = w - 1 - np.argmax(side[:, ::-1], axis=1)  # most recent on ties
            return (w - 1 - newest_extreme) / LD(w - 1)
        return rolling(np.arange(len(c)), w, fn)
    if family in ("roc", "logret", "er", "upfrac"):
        d = s["d"]
        def fn(ix):  # ix: the w bars whose changes count; close[t - w] is ix[:, 0] - 1
            change = c[ix[:, -1]] - c[ix[:, 0] - 1]
            if family == "roc":
                return (c[ix[:, -1]] / c[ix[:, 0] - 1] - 1) * 100
            if family == "logret":
                return np.log(c[ix[:, -1]] / c[ix[:, 0] - 1])
            if family == "er":
                return div(np.abs(change), np.abs(d[ix]).sum(axis=1))
            return (d[ix] > 0).sum(axis=1) / LD(w)
        return rolling(np.arange(len(c)), w, fn, returns=True)
    if family == "mfi":
        tp = (h + l + c) / 3
        dtp = np.concatenate([[LD(0)], tp[1:] - tp[:-1]])
        noise = 1e-13 * tp
        flow = tp * v
        pos = np.where(dtp > noise, flow, 0)
        neg = np.where(dtp < -noise, flow, 0)
        idx = np.arange(len(c))
        return rolling(idx, w, lambda ix: div(100 * pos[ix].sum(axis=1), pos[ix].sum(axis=1) + neg[ix].sum(axis=1)), returns=True)
    if family in ("volratio", "volz", "vwapdev", "imbalance", "cmf", "countratio"):
        idx = np.arange(len(c))
        clv = np.where(h > l, div((c - l) - (h - c), h - l), 0) * v
        def fn(ix):
            vol = v[ix]
            if family == "volratio":
                return div(vol[:, -1], vol.mean(axis=1))
            if family == "volz":
                mean, m2 = window_moments(s, "volume", w)[:2]
                return div(vol[:, -1] - mean[ix[:, -1]], np.sqrt(m2[ix[:, -1]]))
            if family == "vwapdev":
                vw = div((s["vwap"][ix] * vol).sum(axis=1), vol.sum(axis=1))
                return c[ix[:, -1]] / vw - 1
            if family == "imbalance":
                b, a = s["buy_volume"][ix].sum(axis=1), s["sell_volume"][ix].sum(axis=1)
                return div(b - a, b + a)
            if family == "cmf":
                return div(clv[ix].sum(axis=1), vol.sum(axis=1))
            return div(s["count"][ix[:, -1]], s["count"][ix].mean(axis=1))
        return rolling(idx, w, fn)
    if family in ("slope", "r2"):
        def fn(y):
            x = np.arange(w, dtype=LD)
            dx, dy = x - x.mean(), y - y.mean(axis=1, keepdims=True)
            sxy, sxx, syy = (dx * dy).sum(axis=1), (dx**2).sum(), (dy**2).sum(axis=1)
            if family == "slope":
                return sxy / sxx / y[:, -1]
            return div(sxy**2, sxx * syy)
        return rolling(c, w, fn)
    if family == "wma":
        weights = np.arange(1, w + 1, dtype=LD)
        return rolling(c, w, lambda x: (x * weights).sum(axis=1) / weights.sum())
    raise KeyError(family)


# family -> magnitude below which errors are judged absolutely (1e-9 of it). Price-relative
# distances get 1e-6 (absolute 1e-15): prices carry 1e-16 relative rounding, so a distance
# of a few ulps from zero (close one ulp under the high) has no more digits to compare.
FLOORS = {
    "sma": 0, "wma": 0, "std": 0, "bbwidth": 0, "rvol": 0, "parkinson": 0, "rs": 0, "retstd": 0, "gk": 0,
    "smadist": 1e-6, "maxdist": 1e-6, "mindist": 1e-6, "rangewidth": 1e-6, "logret": 1e-6, "retmean": 1e-6,
    "slope": 1e-6, "roc": 1e-4, "vwapdev": 1e-6,
    "zscore": 1, "bb_pctb": 1, "skew": 1, "kurt": 1, "pvcorr": 1, "er": 1, "upfrac": 1, "r2": 1,
    "hhage": 1, "llage": 1, "volratio": 1, "volz": 1, "imbalance": 1, "cmf": 1, "countratio": 1,
    "stoch_k": 100, "willr": 100, "mfi": 100,
}


RETURN_MOMENTS = ("skew", "kurt", "pvcorr", "retstd")


def tolerance(family, s, w):
    """1e-9, or for return moments the window's conditioning if worse (see the module docstring)."""
    if family not in RETURN_MOMENTS:
        return 1e-9
    mean, m2 = window_moments(s, "r", w)[:2]
    with np.errstate(invalid="ignore", divide="ignore"):
        cond = (np.abs(mean) / np.sqrt(m2)).astype(np.float64)
        return np.maximum(1e-9, 16 * np.finfo(float).eps * np.nan_to_num(cond, nan=0.0, posinf=0.0))


@pytest.mark.parametrize("family", sorted(FLOORS))
def test_family_matches_full_window_recomputation(case, family):
    kind, s, out = case
    for w in WINDOWS.tolist():
        got = out[:, index_of(f"{family}_{w}")]
        want = ref(family, s, w)
        where = f"{family}_{w} on {kind}"
        assert np.array_equal(np.isnan(got), np.isnan(want)), f"{where}: NaN at bars {np.flatnonzero(np.isnan(got) != np.isnan(want))[:10]}"
        ok = ~np.isnan(want)
        scale = np.maximum(np.abs(want[ok]), FLOORS[family])
        error = np.where(got[ok] == want[ok], 0.0, np.abs(got[ok] - want[ok]) / np.where(scale > 0, scale, 1.0))
        excess = error / np.broadcast_to(tolerance(family, s, w), got.shape)[ok]
        assert excess.max(initial=0.0) <= 1.0, f"{where}: relative error {error.max():.3g} at bar {np.flatnonzero(ok)[excess.argmax()]}"
