"""Use cases over ports; raise domain errors; know nothing of HTTP or terminals."""
