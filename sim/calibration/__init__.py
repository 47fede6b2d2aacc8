"""Calibration of every policy against the record, out-of-sample validation, and sensitivity."""
