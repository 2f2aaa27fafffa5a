"""The local exchange simulator: every venue's WebSocket protocol on loopback ports.

One process, one thread, one ``selectors`` loop (server.py) serves all venues,
each on its own port (endpoint.py). Modules, one idea each:

| module        | what it is                                                                 |
| ------------- | -------------------------------------------------------------------------- |
| server        | the event loop and the control commands                                    |
| endpoint      | one venue: listening socket, market, connections, pacing, faults           |
| connection    | one client socket: upgrade, frames in, queued frames out, closing          |
| handshake     | the WebSocket upgrade (frames: feeds/wsframe.py, shared with the feed)      |
| outbox        | unsent bytes and exact accounting of what the kernel accepted               |
| session       | a connection's venue protocol (base of every ``venues/<name>.Session``)     |
| venues/*      | one module per venue: symbols, trade templates, requests, heartbeats        |
| templates     | trade frames pre-rendered per quote, filled with bytes %-formatting         |
| market        | symbols, consecutive trade ids, quote tables                                |
| clock         | the wall clock in every unit venues write                                   |
| pacing        | the token bucket per venue (``--arrivals paced``)                           |
| arrivals      | Poisson events with bursts, Zipf-skewed symbols (``--arrivals poisson``)    |
| universe      | N symbols over the venues, shares like real listings (``--universe``)        |
| faults        | drop, stall, malformed, skip, refuse                                        |
| stats         | per venue / per symbol counters                                             |
| config        | settings and their command-line spellings                                   |
| control       | the JSON-lines control port                                                 |
| handle        | ``start_simulator`` -> ``SimulatorHandle`` (a child process)                |
| client        | ``VenueClient``: websocket-client + a venue module's Parser (tests, demos)   |
| rawclient     | a bare socket client that only counts frames (benchmarks)                   |
| bench         | ``measure_frames_per_second``                                               |
"""
from simulator.handle import SimulatorError, SimulatorHandle, start_simulator

__all__ = ["SimulatorError", "SimulatorHandle", "start_simulator"]
