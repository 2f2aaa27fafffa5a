"""The aggregator process, its kernels and the store writer; the command line (aggregator/cli.py)."""

import shm  # noqa: F401  first: it points Numba's cache at this source version
