"""The throughput and latency harness behind `tickagg bench ...`."""

import shm  # noqa: F401  first: it points Numba's cache at this source version
