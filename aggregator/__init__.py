"""The aggregator process alone: poll loop (poll.py), per-batch fold (fold.py), bars, signals, regime,
latency histograms and the Numba feature kernels (features/). Imports shm/ only."""

import shm  # noqa: F401  first: it points Numba's cache at this source version
