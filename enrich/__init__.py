"""The enrich application: the command line over the library and the flows."""
