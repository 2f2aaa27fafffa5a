"""The feed process: one module per venue, the shared feed loop. Imports shm/ only."""

import shm  # noqa: F401  first: it points Numba's cache at this source version
