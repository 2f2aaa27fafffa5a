"""The writer process: output rings -> batches -> store, with a spill and a commit log so nothing is lost
or stored twice. Imports shm/ (plain reads, never Numba) and store/; never the aggregator's kernels."""
