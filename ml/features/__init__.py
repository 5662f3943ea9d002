"""Stages 2 and 3: dbt in-process, the record of builds, the export."""
