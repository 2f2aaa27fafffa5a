"""The aggregator process and the command line (see aggregator/cli.py)."""
