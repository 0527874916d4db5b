"""Read an evaluation corpus folder.

Layout (any folder with it works, e.g. the shared corpus or a held-out copy)::

    <corpus>/<dataset>/manifest.json   {"dataset", "split", "count", "documents": [{"id", "document", "gt", ...}]}
    <corpus>/<dataset>/<document>      the input file (path relative to the dataset folder)
    <corpus>/<dataset>/gt/<id>.json    the normalised ground truth

Folders without a manifest.json are not datasets and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CorpusDataset:
    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("documents", []))


@dataclass(frozen=True)
class CorpusDocument:
    dataset: str
    id: str
    path: Path  # the input file
    gt: dict[str, Any]
    entry: dict[str, Any]  # the manifest entry, passed to predict()


def list_datasets(corpus_dir: Path | str, names: Iterable[str] | None = None) -> list[CorpusDataset]:
    """Datasets of a corpus folder (sorted by name), optionally only those named; unknown names raise."""
    root = Path(corpus_dir)
    found = []
    for manifest_path in sorted(root.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        name = manifest.get("dataset") or manifest_path.parent.name
        found.append(CorpusDataset(name=name, folder=manifest_path.parent, manifest=manifest))
    if names is None:
        return found
    wanted = list(names)
    known = {d.name for d in found}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise ValueError(f"unknown dataset(s) {missing} in {root}; available: {sorted(known)}")
    return [d for d in found if d.name in wanted]


def iter_documents(corpus_dir: Path | str, names: Iterable[str] | None = None) -> Iterator[CorpusDocument]:
    """Every document of the chosen datasets, in manifest order, with its ground truth loaded."""
    for ds in list_datasets(corpus_dir, names):
        for entry in ds.entries:
            gt_rel = entry.get("gt") or f"gt/{entry['id']}.json"
            gt = json.loads((ds.folder / gt_rel).read_text(encoding="utf-8"))
            yield CorpusDocument(
                dataset=ds.name, id=str(entry["id"]), path=ds.folder / entry["document"], gt=gt, entry=dict(entry)
            )
