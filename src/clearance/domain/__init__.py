"""The pure core, by subdomain:

- ``clearance``: the model, routing, grants, Cedar policy, evaluation, feasibility,
  limits, the scenario and the request workflow;
- ``airspace``: 4D volumes, the index, deconfliction, telemetry, tracks, conformance;
- ``ledger``: canonical log entries, the Merkle tree, checkpoints, signed decisions;
- ``errors`` (the one error tree) and ``documents`` (reading untyped documents field by
  field), shared by all three.

Imports the standard library, numpy, shapely, pyproj, cedarpy, cryptography and rfc8785
only; never SQLAlchemy, FastAPI, Typer or pydantic (tests/unit/test_layers.py checks this).
"""
