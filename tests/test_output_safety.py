"""sim never deletes or overwrites what it did not write, whatever the flags (sim.io).

Every test runs in a temporary folder with a fake home (``HOME`` points into it), so a bug here
can never reach a real user's files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

import pytest

from sim.cli import main
from sim.io import CACHE_DIR, MARKER, SPILL_PREFIX, STAGING_PREFIX, TAG, ResultFolder

TINY = "name: tiny\nreplications: 2\nstrategies:\n  - {label: k, policy: kojima}\n"
SIM_CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home folder with a user's files, and the scenario in a folder of its own."""
    fake = tmp_path / "home" / "user"
    (fake / ".ssh").mkdir(parents=True)
    (fake / ".ssh" / "id_ed25519").write_text("secret key")
    (fake / "thesis.tex").write_text("years of work")
    monkeypatch.setenv("HOME", str(fake))
    # matplotlib, first imported here when this file runs alone, would put its caches in HOME.
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mplconfig"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.yaml").write_text(TINY)
    monkeypatch.chdir(work)
    return fake


def digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its bytes (symlinks by their target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def sim(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def run(capsys, out: Path | str, *extra: str) -> tuple[int, str]:
    return sim(capsys, "run", "tiny.yaml", "--out", out, "--executor", "serial", "--quiet", *extra)


def one_line(code: int, err: str, contains: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("sim: error: ") and "Traceback" not in err
    assert contains in err, err


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize(
    "where",
    ["home", "home_parent", "root", "cwd", "cwd_parent", "scenario_folder", "checkout", "repo"],
)
def test_protected_folders_are_refused_whatever_the_flags(home, tmp_path, capsys, where, overwrite):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / "src" / "tiny.yaml").write_text(TINY)
    if where == "repo":
        os.chdir(repo / "src")
    target = {
        "home": home,
        "home_parent": home.parent,
        "root": Path("/"),
        "cwd": Path("."),
        "cwd_parent": Path(".."),
        "scenario_folder": Path.cwd(),
        "checkout": SIM_CHECKOUT,
        "repo": repo,
    }[where]
    before = digest(tmp_path)
    code, err = run(capsys, target, *overwrite)
    one_line(code, err, "sim never writes results there")
    assert digest(tmp_path) == before


def test_overwrite_keeps_every_user_file_and_replaces_only_sims(home, capsys):
    out = home / "results"
    (out / "figures").mkdir(parents=True)
    (out / "notes.md").write_text("mine")
    (out / "figures" / "my_plot.png").write_bytes(b"\x89PNG mine")
    (out / "link").symlink_to(home / "thesis.tex")
    user_files = digest(out)
    code, err = run(capsys, out)
    one_line(code, err, "--overwrite")
    assert digest(out) == user_files

    assert run(capsys, out, "--overwrite")[0] == 0
    first = digest(out)
    assert {k: first[k] for k in user_files} == user_files
    manifest = json.loads((out / MARKER).read_text())
    assert set(manifest["files"]) == set(first) - set(user_files) - {MARKER}
    assert "figures" not in manifest["dirs"]  # the user's folder stays the user's

    assert run(capsys, out, "--seed", "9")[0] == 0  # a marked folder: no flag needed
    second = digest(out)
    assert {k: second[k] for k in user_files} == user_files
    assert set(second) == set(first) and second != first
    assert (home / "thesis.tex").read_text() == "years of work"
    assert not [p for p in out.iterdir() if p.name.startswith((STAGING_PREFIX, CACHE_DIR))]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("name", ["report.md", "figures", "events.csv"])
def test_a_user_file_at_an_output_path_stops_the_command(home, capsys, name, overwrite):
    out = home / "results"
    out.mkdir()
    (out / name).write_text("the user's, not sim's")
    (out / "other.txt").write_text("x")
    before = digest(home)
    code, err = run(capsys, out, *overwrite)
    one_line(code, err, "" if not overwrite else f"'{name}' was not written by sim")
    assert digest(home) == before


def test_a_user_file_added_to_a_result_is_kept_and_blocks_nothing_else(home, capsys):
    out = home / "results"
    assert run(capsys, out)[0] == 0
    (out / "figures" / "annotated.png").write_bytes(b"mine")
    (out / "notes.md").write_text("mine")
    assert run(capsys, out, "--seed", "4")[0] == 0
    assert (out / "figures" / "annotated.png").read_bytes() == b"mine"
    assert (out / "notes.md").read_text() == "mine"
    manifest = json.loads((out / MARKER).read_text())
    assert "notes.md" not in manifest["files"]
    assert "figures/annotated.png" not in manifest["files"]


def test_a_manifest_pointing_outside_the_folder_removes_nothing_there(home, capsys):
    out = home / "results"
    assert run(capsys, out)[0] == 0
    manifest = json.loads((out / MARKER).read_text())
    victim = home / "thesis.tex"
    manifest["files"] += ["../thesis.tex", str(victim), "./../.ssh/id_ed25519"]
    manifest["dirs"] += ["..", "../.ssh"]
    (out / MARKER).write_text(json.dumps(manifest))
    assert run(capsys, out, "--seed", "5")[0] == 0
    assert victim.read_text() == "years of work"
    assert (home / ".ssh" / "id_ed25519").read_text() == "secret key"


def test_every_combination_of_flags_and_folders_keeps_user_files(home, capsys):
    """run x {fresh, foreign, marked+user files, colliding name} x {--overwrite, --fresh}."""
    kinds = ["new", "foreign", "marked", "collision"]
    for i, (kind, overwrite, fresh) in enumerate(
        itertools.product(kinds, [False, True], [False, True])
    ):
        out = home / f"o{i}"
        if kind != "new":
            out.mkdir()
            (out / "mine.txt").write_text(str(i))
        if kind == "marked":
            assert run(capsys, out, "--overwrite")[0] == 0
        if kind == "collision":
            (out / "summary.csv").write_text("mine")
        before = {k: v for k, v in digest(out).items() if "mine" in k or kind == "collision"}
        flags = ["--overwrite"] * overwrite + ["--fresh"] * fresh
        code, err = run(capsys, out, *flags)
        expect_ok = kind in ("new", "marked") or (kind == "foreign" and overwrite)
        assert code == (0 if expect_ok else 2), (kind, flags, err)
        after = digest(out) if out.exists() else {}
        assert {k: after.get(k) for k in before} == before, (kind, flags)
    assert (home / "thesis.tex").read_text() == "years of work"


def test_a_failed_command_leaves_no_results_and_its_staging_goes_next_time(home, capsys):
    out = home / "results"
    with pytest.raises(RuntimeError), ResultFolder(out, "run") as folder:
        (folder.staging / "report.md").write_text("half")
        raise RuntimeError("disk full")
    assert not out.exists()  # created by the command, empty again: removed

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    stale = out / f"{STAGING_PREFIX}killed"
    stale.mkdir()
    (stale / TAG).write_text("")
    (stale / "events.csv").write_text("half")
    look_alike = out / f"{STAGING_PREFIX}not-sims"  # no tag: the user's
    look_alike.mkdir()
    (look_alike / "x").write_text("mine")
    assert run(capsys, out, "--overwrite")[0] == 0
    assert not stale.exists()
    assert (look_alike / "x").read_text() == "mine"
    assert (out / "keep.txt").read_text() == "mine"


def test_chunk_cache_lives_inside_out_and_goes_after_success(home, capsys):
    out = home / "results"
    cache = home / "chunks"
    assert run(capsys, out, "--cache", cache)[0] == 0
    assert not (out / CACHE_DIR).exists()
    assert [p for p in cache.rglob("*.parquet")]  # a cache the user named is kept
    assert sorted(p.name for p in home.iterdir()) == [".ssh", "chunks", "results", "thesis.tex"]
    code, err = run(capsys, home / "r2", "--cache", home)
    one_line(code, err, "your home folder")


def test_a_killed_runs_spill_folder_in_a_named_cache_goes_with_the_next_run(home, capsys):
    """A kill during analysis leaves `.stats-*` in the cache; the next run removes only that."""
    import socket
    import subprocess
    import sys

    cache = home / "chunks"
    assert run(capsys, home / "r1", "--cache", cache)[0] == 0
    [store] = [p for p in cache.iterdir() if p.is_dir()]
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    owners = {"stale": gone.stdout.strip(), "live": str(os.getpid())}
    for name, pid in owners.items():
        folder = store / f"{SPILL_PREFIX}{name}"
        folder.mkdir()
        (folder / TAG).write_text(f"made by sim; removed by sim\n{socket.gethostname()} {pid}\n")
        (folder / "p0-values.npy").write_bytes(b"spilled")
    look_alike = store / f"{SPILL_PREFIX}mine"  # no tag: not sim's
    look_alike.mkdir()
    (look_alike / "notes.txt").write_text("mine")
    (cache / "readme.txt").write_text("mine")
    before = digest(home)
    assert run(capsys, home / "r2", "--cache", cache)[0] == 0
    assert not (store / f"{SPILL_PREFIX}stale").exists()
    after = digest(home)
    kept = {k: v for k, v in before.items() if f"{SPILL_PREFIX}stale" not in k}
    assert {k: after[k] for k in kept} == kept  # the live run's, the look-alike, the user's
    assert sorted(p.name for p in store.glob(f"{SPILL_PREFIX}*")) == [
        f"{SPILL_PREFIX}live",
        f"{SPILL_PREFIX}mine",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["sensitivity", "tiny.yaml", "--quick", "--executor", "serial", "--quiet"],
        ["data", "summary"],
    ],
)
def test_other_commands_keep_user_files_with_overwrite(home, capsys, command):
    out = home / "results"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    one_line(*sim(capsys, *command, "--out", out), "--overwrite")
    assert sim(capsys, *command, "--out", out, "--overwrite")[0] == 0
    assert sim(capsys, *command, "--out", out)[0] == 0
    assert (out / "mine.txt").read_text() == "mine"
    assert MARKER in {p.name for p in out.iterdir()}
    one_line(*sim(capsys, *command, "--out", home, "--overwrite"), "your home folder")
