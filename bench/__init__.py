"""The throughput and latency harness behind `tickagg bench ...`."""
