"""Metrics, comparisons and figures computed from tidy event tables (real or simulated)."""
