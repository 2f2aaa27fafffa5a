"""Exchange feeds: one module per venue, the shared feed loop, the simulator."""

import shm  # noqa: F401  first: it points Numba's cache at this source version
