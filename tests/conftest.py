"""Shared fixtures: a unique process group per test, removed afterwards."""
from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest

from shm import segment
from shm.ring import ring_name


@pytest.fixture
def group():
    name = f"t{os.getpid()}x{uuid.uuid4().hex[:8]}"
    yield name
    for seg in segment.names(ring_name(name, "")):
        segment.remove(seg)


@pytest.fixture
def spawn():
    """Start real processes (fresh interpreters, like production) and reap them after the test."""
    ctx = multiprocessing.get_context("spawn")
    started = []

    def start(target, *args):
        proc = ctx.Process(target=target, args=args, daemon=True)
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.is_alive():
            proc.kill()
        proc.join(10)
