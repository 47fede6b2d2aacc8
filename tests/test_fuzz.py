"""Property-based tests of the command-line contract (hypothesis, small fixed budget).

Whatever the scenario file, data file or flags: exit 0 with complete outputs, or exit 2 with
exactly one line on stderr, no traceback and nothing written.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.data import packaged_path
from sim.io import MARKER

FAST = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

BASE = {
    "name": "fz",
    "replications": 2,
    "strategies": [{"label": "k", "policy": "kojima"}],
}

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
years = st.integers(2000, 2030)
shock = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("barrier"),
            "market": st.sampled_from(["USA", "IND", "ZZZ", "usa"]),
            "year": years,
            "delta": st.floats(-3, 3),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("exclude"),
            "market": st.sampled_from(["USA", "EU", "XXX"]),
            "from_year": years,
            "to_year": st.none() | years,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("capital"),
            "from_year": years,
            "to_year": st.none() | years,
            "multiplier": st.floats(-1, 20),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("move_barriers"),
            "market": st.just("IND"),
            "from_year": years,
            "to_year": years,
        }
    ),
)
sweep = st.fixed_dictionaries(
    {
        "parameters": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["ceiling_rate", "firm.hurdle", "nope"]),
                    "values": st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
                }
            ),
            min_size=1,
            max_size=2,
        )
    }
)
mutation = st.one_of(
    st.tuples(
        st.sampled_from(
            [
                "name",
                "years",
                "seed",
                "replications",
                "description",
                "history",
                "firm",
                "data",
                "calibration",
                "sensitivity",
                "unknown_key",
                "strategies",
            ]
        ),
        junk,
    ),
    st.tuples(st.just("shocks"), st.lists(shock, max_size=2)),
    st.tuples(st.just("sweep"), sweep),
    st.tuples(st.just("years"), st.lists(years, min_size=2, max_size=2)),
    st.tuples(
        st.just("calibration"),
        st.fixed_dictionaries(
            {
                "window": st.lists(years, min_size=2, max_size=2),
                "validation": st.lists(years, min_size=2, max_size=2),
            }
        ),
    ),
    st.tuples(
        st.just("sensitivity"), st.fixed_dictionaries({"strategy": st.sampled_from(["k", "ghost"])})
    ),
    st.tuples(
        st.just("data"),
        st.dictionaries(
            st.sampled_from(["events", "finance", "barriers"]),
            st.sampled_from(["missing.csv", "", "dir", "s.yaml", "a\x00b"]),
            min_size=1,
            max_size=2,
        ),
    ),
)


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse rejects a flag: its usage text + one error line
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def assert_contract(code: int, err: str, before: dict, root: Path) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("sim: error: "), err
        assert snapshot(root) == before, "bad input must write nothing"


@FAST
@given(st.lists(mutation, max_size=3))
def test_scenario_files(mutations):
    raw = {k: (list(v) if isinstance(v, list) else v) for k, v in BASE.items()}
    for key, value in mutations:
        raw[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "dir").mkdir()
        path = root / "s.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        before = snapshot(root)
        code, out, err = call(["scenario", "check", str(path)])
        assert_contract(code, err, before, root)
        if code == 0:
            assert ": ok" in out


@FAST
@given(st.text(max_size=200))
def test_scenario_text(text):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "s.yaml"
        path.write_text(text, encoding="utf-8")
        before = snapshot(root)
        code, _, err = call(["scenario", "check", str(path)])
        assert_contract(code, err, before, root)


CELL = st.one_of(st.text(max_size=8), st.sampled_from(["", "USA", "2015-13-01", '"', "a,b", "\n"]))


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["cell", "add", "drop", "insert", "blank"]),
            st.integers(0, 60),
            st.integers(0, 9),
            CELL,
        ),
        max_size=3,
    )
)
def test_data_files(edits):
    lines = packaged_path("barriers").read_text(encoding="utf-8").splitlines()
    for kind, row, col, value in edits:
        r = row % len(lines)
        cells = lines[r].split(",")
        if kind == "cell":
            cells[col % len(cells)] = value
        elif kind == "add":
            cells.append(value)
        elif kind == "drop" and len(cells) > 1:
            cells.pop(col % len(cells))
        lines[r] = ",".join(cells)
        if kind == "insert":
            lines.insert(r, value)
        elif kind == "blank":
            lines.insert(r, "")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "barrier_events.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        before = snapshot(root)
        code, out, err = call(["data", "check", "--barriers", str(path)])
        assert_contract(code, err, before, root)
        if code == 0:
            assert "barrier events:" in out


OUT_KINDS = ["new", "empty", "foreign", "marked", "file"]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    replications=st.sampled_from([None, -1, 0, 1, 2, 10**9]),
    seed=st.sampled_from([None, -5, 0, 7, 2**70]),
    chunk=st.sampled_from([None, 0, 1, 3]),
    workers=st.sampled_from([None, 0, 1, 5000]),
    executor=st.sampled_from(["serial", "local", "dask"]),
    scheduler=st.sampled_from([None, "not an address", "tcp://", "http://h:1"]),
    timeout=st.sampled_from([None, -1.0, 5.0, math.inf]),
    out_kind=st.sampled_from(OUT_KINDS),
    overwrite=st.booleans(),
)
def test_run_flags(
    replications, seed, chunk, workers, executor, scheduler, timeout, out_kind, overwrite
):
    if executor == "dask" and scheduler is None:
        scheduler = "tcp://"  # never start a LocalCluster here: too slow for the budget
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scen = root / "s.yaml"
        scen.write_text(yaml.safe_dump(BASE))
        out = root / "o"
        if out_kind == "empty":
            out.mkdir()
        elif out_kind == "foreign":
            out.mkdir()
            (out / "mine.txt").write_text("keep")
        elif out_kind == "marked":
            out.mkdir()
            (out / MARKER).write_text("{}")
        elif out_kind == "file":
            out.write_text("keep")
        argv = ["run", str(scen), "--out", str(out), "--quiet", "--executor", executor]
        for flag, value in (
            ("--replications", replications),
            ("--seed", seed),
            ("--chunk-size", chunk),
            ("--workers", workers),
            ("--scheduler", scheduler),
            ("--timeout", timeout),
        ):
            if value is not None:
                argv += [flag, str(value)]
        if overwrite:
            argv.append("--overwrite")
        before = snapshot(root)
        code, out_text, err = call(argv)
        assert_contract(code, err, before, root)
        if code == 0:
            names = {p.name for p in out.iterdir()}
            assert {"report.md", "manifest.json", "fit.csv", "summary.csv", MARKER} <= names
            assert "Wrote" in out_text
            assert not [p for p in root.iterdir() if ".old-" in p.name or p.suffix == ".tmp"]
            if out_kind == "foreign":
                assert overwrite and (out / "mine.txt").read_text() == "keep"
        elif out_kind == "foreign":
            assert (out / "mine.txt").read_text() == "keep"
