"""Crash safety: ``healthlocker import`` SIGKILLed at random moments leaves whole batches only.

One vault takes 20 kills in a row, each of a fresh ``healthlocker import`` of the same corpus
(so progress accumulates, and later runs also skip the files earlier runs committed). After each
kill the vault must open, pass ``PRAGMA integrity_check``, hold for every corpus file either none
or all of its resources (each file is one batch), keep every batch committed before, and hold
nothing that differs from an uninterrupted import. A last run to completion must then give
exactly the content of that uninterrupted import.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench.corpus import file_index, make_corpus

from healthlocker.store import ENV_PASSPHRASE, Vault
from helpers import PASSPHRASE

pytestmark = pytest.mark.slow

KILLS = 20
SEED = 20_240_611
CORPUS_FILES = 30  # one Synthea-derived bundle (175-475 resources) per file, ~8,500 in all
EARLY_SHARE = 0.2  # kills aimed at start-up: unlock, skip checks of committed files, model loading
REACH = 0.8  # the batch-phase kills are spread over this share of the whole import's work

Content = frozenset[tuple[str, str, str]]  # (resourceType, id, canonical JSON)


@dataclass(frozen=True)
class Corpus:
    folder: Path
    files: list[Path]
    per_file: dict[int, int]  # file index (the id prefix) -> resources in that file

    @property
    def total(self) -> int:
        return sum(self.per_file.values())


@dataclass(frozen=True)
class Reference:
    content: Content
    duration: float  # one uninterrupted `healthlocker import` of the corpus, in seconds
    overhead: float  # of that, the part before batches are stored (start-up, unlock, models)

    def seconds_per_resource(self, corpus: Corpus) -> float:
        return max(self.duration - self.overhead, 0.5) / corpus.total


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    env[ENV_PASSPHRASE] = PASSPHRASE
    return env


def _import_cmd(home: Path, *paths: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "healthlocker.cli",
        "--home",
        str(home),
        "import",
        *map(str, paths),
        "--source",
        "corpus",
        "--json",
    ]


def _run_import(home: Path, *paths: Path) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    proc = subprocess.run(
        _import_cmd(home, *paths),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    summary: dict[str, Any] = json.loads(proc.stdout)
    assert summary["ok"], summary
    return elapsed, summary


def _canonical(resource: dict[str, Any]) -> str:
    return json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _content(vault: Vault) -> Content:
    return frozenset((r["resourceType"], r["id"], _canonical(r)) for r in vault.iter_all())


@pytest.fixture(scope="module")
def passphrase_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_PASSPHRASE, PASSPHRASE)
        mp.delenv("HEALTHLOCKER_HOME", raising=False)
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    folder = tmp_path_factory.mktemp("corpus")
    info = make_corpus(folder, 0, files=CORPUS_FILES, seed=SEED)
    per_file = {file_index(info["prefix"][p]): n for p, n in info["per_file"].items()}
    assert len(per_file) == CORPUS_FILES
    return Corpus(folder, info["files"], per_file)


@pytest.fixture(scope="module")
def reference(
    corpus: Corpus, tmp_path_factory: pytest.TempPathFactory, passphrase_env: None
) -> Reference:
    """An uninterrupted import of the whole corpus, timed; and one of its first file alone."""
    home = tmp_path_factory.mktemp("reference")
    Vault.create(home, passphrase=PASSPHRASE).close()
    duration, summary = _run_import(home, corpus.folder)
    assert summary["added"] == corpus.total
    with Vault.open(home) as vault:
        content = _content(vault)
    # The premise of the per-file check: every id names the corpus file it came from.
    assert Counter(file_index(rid) for _, rid, _ in content) == corpus.per_file

    # Overhead before the first batch: a one-file import costs overhead + that file's work.
    one = tmp_path_factory.mktemp("one-file")
    Vault.create(one, passphrase=PASSPHRASE).close()
    first = corpus.per_file[0]
    one_duration, _ = _run_import(one, corpus.files[0])
    per_resource = (duration - one_duration) / (corpus.total - first)
    overhead = min(max(one_duration - first * per_resource, 0.2), duration / 2)
    return Reference(content, duration, overhead)


def _check_whole_batches(home: Path, corpus: Corpus, reference: Reference) -> frozenset[int]:
    """The vault opens, is intact and holds whole files only; returns the files it holds."""
    with Vault.open(home) as vault:
        assert vault.check_integrity()
        stored = _content(vault)
        batches = vault.stats()["batches"]
    assert stored <= reference.content, "a stored resource differs from the uninterrupted import"
    counts = Counter(file_index(rid) for _, rid, _ in stored)
    partial = {i: (n, corpus.per_file[i]) for i, n in counts.items() if n != corpus.per_file[i]}
    assert not partial, f"files stored in part (stored, in file): {partial}"
    assert batches == len(counts), "batch records and whole files disagree"
    return frozenset(counts)


def _kill_after(cmd: list[str], delay: float) -> bool:
    """Start *cmd* and SIGKILL it after *delay* seconds; return whether it was still running."""
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.kill()  # SIGKILL: no handler, no rollback, no atexit
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if killed:
        assert proc.returncode == -9
    else:
        assert proc.returncode == 0, err.decode(errors="replace")
    return killed


def test_sigkilled_imports_leave_whole_batches_and_finish_equal(
    corpus: Corpus, reference: Reference, tmp_path: Path, passphrase_env: None
) -> None:
    home = tmp_path / "vault"
    Vault.create(home, passphrase=PASSPHRASE).close()
    cmd = _import_cmd(home, corpus.folder)
    rng = random.Random(SEED)
    early = [rng.random() < EARLY_SHARE for _ in range(KILLS)]
    # Points in the import's work (counted in resources) at which the batch-phase kills land;
    # a point that earlier runs already went past is dropped.
    targets = sorted(rng.uniform(0, REACH * corpus.total) for _ in range(early.count(False)))
    per_resource = reference.seconds_per_resource(corpus)

    held: frozenset[int] = frozenset()
    kills = kills_with_progress = 0
    # Start-up varies with load (and a large import first starts its validation worker): a
    # batch-phase kill that found nothing stored yet pushes later ones back a little.
    slack = 0.0
    for attempt in range(3 * KILLS):  # spares in case a run ends before its kill
        if kills >= KILLS and kills_with_progress >= 3:
            break
        is_early = attempt < KILLS and early[attempt]
        stored = sum(corpus.per_file[i] for i in held)
        while targets and targets[0] <= stored:
            targets.pop(0)
        if is_early or not targets:
            delay = rng.uniform(0.0, reference.overhead)
        else:
            delay = reference.overhead + slack + (targets.pop(0) - stored) * per_resource
        killed = _kill_after(cmd, delay)
        now = _check_whole_batches(home, corpus, reference)
        assert held <= now, "a batch committed before the kill is gone"
        kills += int(killed)
        kills_with_progress += int(killed and now > held)
        if killed and not is_early and now == held:
            slack += 0.5
        held = now

    assert kills >= KILLS
    # Not vacuous: several kills hit runs that were storing batches.
    assert kills_with_progress >= 3, kills_with_progress

    _, summary = _run_import(home, corpus.folder)
    assert summary["skipped_files"] == len(held)
    assert summary["added"] == corpus.total - sum(corpus.per_file[i] for i in held)
    assert _check_whole_batches(home, corpus, reference) == frozenset(corpus.per_file)
    with Vault.open(home) as vault:
        assert _content(vault) == reference.content
        (source,) = vault.sources()
    assert (source.label, source.batches, source.total) == ("corpus", CORPUS_FILES, corpus.total)
