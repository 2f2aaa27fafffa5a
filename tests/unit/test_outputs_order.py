"""The aggregator's output indexes and named fields follow the one ring list (shm/topology.py)."""
from aggregator import outputs
from shm.topology import OUTPUT_RINGS


def test_output_indexes_and_fields_follow_the_ring_list():
    names = list(OUTPUT_RINGS)
    indexes = [outputs.TICKS, outputs.BARS1S, outputs.BARS1M, outputs.FEATURES, outputs.REGIME, outputs.LATENCY,
               outputs.EVENTS, outputs.SIGNALS]
    assert [names[i] for i in indexes] == ["out.ticks", "out.bars1s", "out.bars1m", "out.features", "out.regime",
                                           "out.latency", "out.events", "signals"]
    fields = [f for f in outputs.Outputs._fields if f != "counts"]
    assert [n.removeprefix("out.") for n in names] == fields
