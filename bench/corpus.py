"""A corpus of distinct, valid FHIR R4 transaction bundles, made from the Synthea samples.

Each copy of a sample has every UUID in it (resource ids, ``urn:uuid:`` fullUrls and
references, the Synthea person identifier) replaced, consistently within the copy, by a fresh
uuid5. So copies are distinct resources, still valid FHIR, and every reference still resolves
inside its bundle. The new UUIDs of file number *i* all start with ``file_prefix(i)`` (the
index as eight hex digits), so the file a stored resource came from can be read off its id.

Deterministic: the same arguments (and ``seed``) give byte-identical files.

    from bench.corpus import make_corpus
    info = make_corpus(tmp_path / "corpus", 20_000)
    info["files"], info["resources"], info["per_file"][path], info["prefix"][path]

Also a command: ``python bench/corpus.py OUT_DIR --resources 20000 [--files N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYNTHEA = ROOT / "samples" / "fhir" / "synthea"

# Synthea writes lower-case UUIDs; this matches every one of them wherever it appears.
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def file_prefix(index: int) -> str:
    """The prefix shared by the ids of every resource in corpus file number *index*."""
    return f"{index:08x}-"


def file_index(resource_id: str) -> int:
    """Which corpus file a resource id was made for (the inverse of :func:`file_prefix`)."""
    return int(resource_id[:8], 16)


def _samples(seed: int) -> list[tuple[Path, bytes, int]]:
    paths = sorted(SYNTHEA.glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no Synthea samples in {SYNTHEA}")
    random.Random(seed).shuffle(paths)
    out = []
    for path in paths:
        data = path.read_bytes()
        bundle = json.loads(data)
        if bundle.get("resourceType") != "Bundle":
            raise ValueError(f"{path} is not a FHIR Bundle")
        count = sum(1 for e in bundle.get("entry") or () if isinstance(e.get("resource"), dict))
        out.append((path, data, count))
    return out


def _rewrite(data: bytes, namespace: uuid.UUID, findex: int, copy: int) -> bytes:
    """One copy of a sample: every UUID replaced by a uuid5 carrying the file's prefix."""
    prefix = file_prefix(findex).encode("ascii")
    cache: dict[bytes, bytes] = {}

    def new(match: re.Match[bytes]) -> bytes:
        old = match.group()
        hit = cache.get(old)
        if hit is None:
            fresh = uuid.uuid5(namespace, f"{findex}/{copy}/{old.decode('ascii')}")
            # Keep version and variant bits; only the first group becomes the file index.
            hit = cache[old] = prefix + str(fresh).encode("ascii")[9:]
        return hit

    return _UUID.sub(new, data)


def make_corpus(
    out_dir: Path, min_resources: int, *, files: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Write distinct Synthea-derived transaction bundles into *out_dir* (created if absent).

    With ``files=None`` each file is one copy of one sample (175-475 resources), and as many
    files are written as it takes to reach *min_resources*. With ``files=N`` exactly N files
    are written and copies are dealt round-robin into them (several copies of samples merged
    into one bundle) until there are at least *min_resources* resources and N copies.

    Returns ``{"files": [Path, ...], "resources": total, "per_file": {Path: count},
    "prefix": {Path: id prefix}}``; files are named so that sorted order is index order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.glob("*.json")):
        raise FileExistsError(f"{out_dir} already holds .json files; give an empty folder")
    if files is not None and files < 1:
        raise ValueError("files must be at least 1")
    samples = _samples(seed)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://healthlocker.invalid/bench/{seed}")

    # Plan: which sample each copy uses and which file it goes to.
    plan: list[list[int]] = []  # per file: sample numbers of its copies
    total = copies = 0
    while total < min_resources or copies < (files or 1):
        sample = copies % len(samples)
        if files is None:
            plan.append([sample])
        else:
            if copies < files:
                plan.append([])
            plan[copies % files].append(sample)
        total += samples[sample][2]
        copies += 1

    written: list[Path] = []
    per_file: dict[Path, int] = {}
    prefixes: dict[Path, str] = {}
    for findex, copy_samples in enumerate(plan):
        stem = samples[copy_samples[0]][0].stem.split("_")[0]
        path = out_dir / f"{findex:05d}_{stem}{'_x' + str(len(copy_samples)) if files else ''}.json"
        if len(copy_samples) == 1:
            path.write_bytes(_rewrite(samples[copy_samples[0]][1], namespace, findex, 0))
        else:
            entries: list[Any] = []
            for copy, sample in enumerate(copy_samples):
                entries += json.loads(_rewrite(samples[sample][1], namespace, findex, copy))[
                    "entry"
                ]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            path.write_text(json.dumps(bundle, indent=1, ensure_ascii=False), encoding="utf-8")
        written.append(path)
        per_file[path] = sum(samples[s][2] for s in copy_samples)
        prefixes[path] = file_prefix(findex)
    return {"files": written, "resources": total, "per_file": per_file, "prefix": prefixes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    info = make_corpus(args.out_dir, args.resources, files=args.files, seed=args.seed)
    size = sum(p.stat().st_size for p in info["files"])
    print(
        f"{len(info['files'])} files, {info['resources']} resources, {size / 2**20:.1f} MiB "
        f"in {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
