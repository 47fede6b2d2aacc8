"""Finding policies by name: built-ins, installed plug-ins (entry points) and ``--plugin``.

Built-in policies register themselves when :mod:`sim.policies` is imported
(:func:`sim.policies.base.register`). Other code enters only through the user's explicit opt-in:
an installed package's ``sim.policies`` entry point, or ``--plugin module:Class`` on the command
line. A scenario file is data and never names code to import.
"""

from __future__ import annotations

import importlib
from importlib import metadata

from sim.policies.base import Policy, get_policy, policy_names, register

#: Entry-point group through which installed packages contribute policies (name = policy name).
ENTRY_POINT_GROUP = "sim.policies"
PLUGIN_ROUTES = (
    "scenario files name registered policies only; to use a policy from other code, install it "
    f"as a package with a '{ENTRY_POINT_GROUP}' entry point, or pass --plugin module:Class on "
    "the command line"
)


class PluginError(ValueError):
    """A plug-in policy could not be loaded (message in plain words, one line)."""


def _as_policy(obj: object, what: str) -> type[Policy]:
    if not (isinstance(obj, type) and issubclass(obj, Policy)) or obj is Policy:
        raise PluginError(f"{what} is not a Policy class (a subclass of sim.policies.Policy)")
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        raise PluginError(f"{what} has no policy name (class attribute 'name')")
    return obj


def _register(cls: type[Policy], what: str) -> type[Policy]:
    try:
        return register(cls)
    except ValueError:
        raise PluginError(
            f"{what}: policy name {cls.name!r} is already taken by another policy"
        ) from None


def load_plugin(spec: str) -> type[Policy]:
    """Import ``module:Class`` (the user's explicit opt-in) and register it by its name.

    Raises:
        PluginError: when the spec is malformed, the import fails, or it is not a Policy class.
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr or module.startswith("."):
        raise PluginError(f"{spec!r} is not of the form package.module:Class (absolute import)")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (Exception, SystemExit) as exc:  # importing user code can raise anything
        raise PluginError(f"cannot import {spec!r} ({type(exc).__name__}: {exc})") from None
    return _register(_as_policy(obj, repr(spec)), repr(spec))


def entry_point_policy(name: str) -> type[Policy] | None:
    """The policy an installed package offers under ``name`` in :data:`ENTRY_POINT_GROUP`."""
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        what = f"entry point {ep.name!r} ({ep.value})"
        try:
            obj = ep.load()
        except (Exception, SystemExit) as exc:
            raise PluginError(f"cannot load {what} ({type(exc).__name__}: {exc})") from None
        cls = _as_policy(obj, what)
        if cls.name != name:
            raise PluginError(f"{what} names a policy called {cls.name!r}")
        return _register(cls, what)
    return None


def find_policy(name: str) -> type[Policy]:
    """The registered policy ``name``, loading an installed entry point if needed.

    Raises:
        KeyError: unknown name (message lists the known ones and the plug-in routes).
        PluginError: an entry point of that name exists but does not load.
    """
    if name in policy_names():
        return get_policy(name)
    if ":" in name:
        raise KeyError(f"policy {name!r} names code to import; {PLUGIN_ROUTES}")
    found = entry_point_policy(name)
    if found is None:
        raise KeyError(
            f"unknown policy {name!r}; known: {', '.join(policy_names())} "
            f"(plug-ins: a '{ENTRY_POINT_GROUP}' entry point or --plugin module:Class)"
        )
    return found
