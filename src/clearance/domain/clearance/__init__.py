"""Clearing an operation: the model, routing to authorities, grants, Cedar policy,
evaluation, feasibility, limits, the scenario and the request workflow."""
