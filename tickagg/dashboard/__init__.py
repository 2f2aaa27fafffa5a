"""The built-in latency dashboard: named panel queries (queries.py), the store they run on (sources.py), live
shared-memory counters (live.py), the HTTP server (server.py) and the page (static/, uPlot vendored)."""
