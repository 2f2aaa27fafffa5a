"""The PNG of a `bench all` run: latencies and times (ms) on the left, throughputs (per second) on the right.

Figures are picked from the flattened document by name (bench/compare.py):
a lower-is-better time figure (``latency_ns.p99``, ``p99_ms``,
``ms_per_bar_all_symbols``, ``reconnect_first_tick_s_median``) is drawn in ms;
a higher-is-better ``*_per_s`` figure or ring records/s is a throughput. Both axes are logarithmic: the benches span microseconds to
seconds and hundreds to millions per second. matplotlib (the ``bench`` extra)
draws it with the Agg backend: no display needed.
"""
from __future__ import annotations

from bench.compare import direction, figures, seconds_per_unit

MAX_BARS = 40  # per panel: a result with more figures is cut (the JSON has them all)


def latencies_ms(doc: dict) -> dict[str, float]:
    """Latencies and other lower-is-better times of every bench, in ms, by figure path."""
    out = {}
    for path, value in figures(doc).items():
        scale = seconds_per_unit(path)
        if scale is not None and direction(path) == "lower" and value > 0:
            out[path] = value * scale * 1e3
    return out


def throughputs(doc: dict) -> dict[str, float]:
    """Throughput figures (per second) of every bench, by figure path."""
    return {path: value for path, value in figures(doc).items()
            if direction(path) == "higher" and "_vs_" not in path and value > 0}


def write_png(doc: dict, path: str) -> None:
    """Draw ``doc``'s latencies and throughputs into the PNG file ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    panels = [("latencies and times (ms)", latencies_ms(doc), "tab:blue"),
              ("throughput (per second)", throughputs(doc), "tab:green")]
    rows = max([min(len(values), MAX_BARS) for _, values, _ in panels] + [1])
    fig, axes = plt.subplots(1, 2, figsize=(15, 1.5 + 0.28 * rows))
    for ax, (title, values, color) in zip(axes, panels):
        items = sorted(values.items())[:MAX_BARS]
        ax.set_title(title)
        if not items:
            ax.text(0.5, 0.5, "no figures", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        names, numbers = zip(*items)
        ax.barh(range(len(items)), numbers, color=color)
        ax.set_yticks(range(len(items)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        for y, number in enumerate(numbers):
            ax.text(number, y, f" {number:,.3g}", va="center", fontsize=7)
        ax.set_axisbelow(True)
        ax.grid(axis="x", which="major", alpha=0.3)
    revision = (doc.get("git_revision") or "no git revision")[:12]
    machine = doc.get("machine") if isinstance(doc.get("machine"), dict) else {}
    fig.suptitle(f"tickagg bench all, {revision}, {doc.get('started_at', '')}: "
                 f"{machine.get('cpu_model', '?')}, {machine.get('cores', '?')} cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
