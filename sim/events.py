"""Column layouts of the integer event tables that runs produce (defined once, import-light).

Kept apart from the model so that processes which only store or read events (the main process of
a parallel run) never import Mesa.
"""

#: Columns of one run's event table (all integer codes), as the model writes it.
EVENT_FIELDS = ("year", "market", "mode", "blocked", "industry")

#: Columns of an ensemble's event table: run identity, then the model's event fields.
ENSEMBLE_FIELDS = ("strategy", "point", "replication", *EVENT_FIELDS)
