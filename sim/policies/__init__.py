"""Policies of market and mode choice, one file each, registered by name.

Importing this package registers the built-in policies. A new policy needs one file that
subclasses :class:`~sim.policies.base.Policy` and applies :func:`~sim.policies.base.register`;
scenario files can also name a policy in another module as ``"package.module:ClassName"``.
"""

from sim.policies import (  # noqa: F401  (imported to register the built-in policies)
    diversification,
    dual_track,
    gravity,
    kojima,
    oli_logit,
    random_baseline,
    random_location,
    springboard,
    uppsala,
)
from sim.policies.base import (
    FirmView,
    MarketView,
    Policy,
    PolicyParams,
    get_policy,
    policy_names,
    register,
)

__all__ = [
    "FirmView",
    "MarketView",
    "Policy",
    "PolicyParams",
    "get_policy",
    "policy_names",
    "register",
]
