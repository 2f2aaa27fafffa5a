"""Shared memory: SPSC rings of fixed-size records, record dtypes, the symbol directory."""
