"""The one compiled part: the feeds' frame scanners (feeds/_scan.c). ``optional``: where no C compiler or Python
headers are found the install goes on without it, and the feeds use their pure-Python parsers (feeds/compiled.py)."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("feeds._scan", ["feeds/_scan.c"], depends=["feeds/scan_json.h"], optional=True,
                             extra_compile_args=["-O2"])])
