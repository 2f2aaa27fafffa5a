"""Which heavy modules a real tickagg process loads: from outside (/proc/PID/maps) and at its exit (sys.modules)."""
from __future__ import annotations


def entry(heavy: tuple[str, ...]) -> str:
    """`python -c` source that runs the tickagg CLI as the console script does and prints at exit which of
    ``heavy`` it imported (a line ``imported: ...``)."""
    return f"""import atexit, sys
atexit.register(lambda: print("imported:", *sorted(m for m in {heavy!r} if m in sys.modules), flush=True))
from tickagg.cli import main
sys.exit(main())
"""


def mapped_files(pid: int) -> set[str]:
    """The files mapped into process ``pid`` (its shared objects among them)."""
    with open(f"/proc/{pid}/maps") as maps:
        return {fields[5] for fields in (line.split(maxsplit=5) for line in maps) if len(fields) == 6}
