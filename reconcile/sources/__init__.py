"""Readers for the exports the audit compares."""
