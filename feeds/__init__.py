"""Exchange feeds: one module per venue, the shared feed loop, the simulator."""
