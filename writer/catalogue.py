"""The feature catalogue the writer records in the store: names and version, and where they came from.

The names come from aggregator.features.catalogue (names only: no Numba is imported), or are given, or are
placeholders when that module cannot be imported.
"""
from __future__ import annotations

import dataclasses
import logging

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FeatureCatalogue:
    """The feature column names the store records, their catalogue version, and where they came from."""

    names: list[str]
    version: int
    source: str  # "given", "aggregator.features" or "placeholder"


def feature_catalogue(names: tuple[str, ...] | None, version: int | None) -> FeatureCatalogue:
    """Names and version of the feature catalogue, and where they came from."""
    if names is not None:
        return FeatureCatalogue(list(names), int(version or 0), "given")
    try:
        from aggregator.features import catalogue

        return FeatureCatalogue(list(catalogue.names()), int(catalogue.CATALOGUE_VERSION if version is None else version),
                                "aggregator.features")
    except Exception as exc:  # noqa: BLE001 — the catalogue module is optional for the writer
        from shm.pipeline_records import FEATURE_COUNT

        log.warning("feature catalogue not importable (%s); storing placeholder names f0..f%d", exc, FEATURE_COUNT - 1)
        return FeatureCatalogue([f"f{i}" for i in range(FEATURE_COUNT)], int(version or 0), "placeholder")
