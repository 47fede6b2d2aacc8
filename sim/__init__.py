"""sim: an agent-based simulator of a cross-border e-commerce firm's internationalization.

Firms are data: each is a profile folder (``sim/data/firms/<name>/``) with its deal record and
revenue; the README names the reference case and its source (Li & Li 2022, *iBusiness*
14:270-283, https://doi.org/10.4236/ib.2022.144020).
"""

__version__ = "0.1.0"
