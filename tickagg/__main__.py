"""``python -m tickagg ...``: the same as the ``tickagg`` console script."""
import sys

from tickagg.cli import main

sys.exit(main())
