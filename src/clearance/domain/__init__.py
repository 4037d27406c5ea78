"""The pure core: model, volumes, feasibility, routing, policy, evaluation, workflow and
the Merkle log.

Imports the standard library, numpy, shapely, pyproj, cedarpy, cryptography and rfc8785
only; never SQLAlchemy, FastAPI, Typer or pydantic (a unit test checks this).
"""
