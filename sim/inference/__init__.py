"""Simulation-based inference: a bank of simulated histories, model probabilities, posteriors."""
