"""Hotline intelligence: the local text model that suggests classes and units, duplicates and repeats, analysis."""
