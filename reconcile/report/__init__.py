"""Renderers: CSV and JSON files for people and scripts, and the console summary."""
