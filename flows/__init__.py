"""Prefect flows: thin tasks and flows over the ml library, and the dbt task."""
