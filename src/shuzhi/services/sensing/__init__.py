"""Sensing and warnings (感知预警): indicators and their tree, readings and their ingest, threshold
configuration, and the warnings raised from readings."""
