"""Hostile input files generated for the hardening tests (see generate.py and docs/RELIABILITY.md)."""
