"""Space and time: 4D volumes, the spatial-temporal index, deconfliction, telemetry,
flown tracks and conformance."""
