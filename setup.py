"""The compiled parts: the feeds' frame scanners (feeds/_scan.c), tick staging loop (feeds/_stage.c) and read loop
(feeds/_pump.c), and the headers they share (feeds/*.h).
``optional``: where no C compiler or Python headers are found the install goes on without them, and the feeds use
their pure-Python paths (feeds/compiled.py)."""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("feeds._scan", ["feeds/_scan.c"], depends=["feeds/scan_json.h", "feeds/scan_venues.h"], optional=True,
              extra_compile_args=["-O2"]),
    Extension("feeds._stage", ["feeds/_stage.c"], depends=["feeds/stage_record.h"], optional=True,
              extra_compile_args=["-O2"]),
    Extension("feeds._pump", ["feeds/_pump.c"],
              depends=["feeds/scan_json.h", "feeds/scan_venues.h", "feeds/stage_record.h", "feeds/ring_push.h",
                       "feeds/symbol_cache.h", "feeds/pump_reads.h"], optional=True,
              extra_compile_args=["-O2"]),
])
