"""Infrastructure: settings, errors, relation names, warehouse, storage, the lake."""
