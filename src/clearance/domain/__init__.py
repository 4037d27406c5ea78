"""The pure core: model, volumes, feasibility, routing, policy and evaluation.

Imports the standard library, shapely, pyproj and cedarpy only; never SQLAlchemy,
FastAPI, Typer or pydantic (a unit test checks this).
"""
