"""Running ensembles of model runs: seeds, strategies, replications, tidy outputs."""
