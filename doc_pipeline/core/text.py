"""Turning words with boxes into readable text."""

from __future__ import annotations

from doc_pipeline.core.models import Word


def words_to_text(words: list[Word]) -> str:
    """Join words line by line (engine line ids), in the order the engine produced them."""
    lines: list[list[str]] = []
    last = None
    for w in words:
        key = (w.block, w.line)
        if key != last:
            lines.append([])
            last = key
        lines[-1].append(w.text)
    return "\n".join(" ".join(line) for line in lines)


def mean_conf(words: list[Word]) -> float | None:
    return round(sum(w.conf for w in words) / len(words), 4) if words else None
