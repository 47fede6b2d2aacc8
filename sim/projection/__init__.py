"""Projections after the record: ``sim project`` (docs/ODD.md, "Projection").

Each strategy starts from the firm's state at the end of the record (:mod:`.warm`) and runs
forward through a world extended past the data (:mod:`.futures`) under futures sampled from the
scenario's declared uncertainties (:mod:`sim.projection_spec`) with the EMA Workbench
(:mod:`.exploration`); strategies are compared by regret and satisficing (:mod:`.robustness`),
and PRIM finds the futures in which a strategy fails (:mod:`.discovery`). This package is
imported lazily: the ``sim run`` path never imports it. The ``projection:`` section's schema
lives outside it, in :mod:`sim.projection_spec`, so that the scenario schema does not depend on
this package (which depends on the scenario).
"""
