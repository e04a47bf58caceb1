"""How pages, charts and messages say a count: "1 prediction", "2 predictions".

Shared by the notebooks' helpers and the runner's pages (it imports nothing), so every count the user
reads agrees in number with its noun.
"""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun``, pluralised with ``nouns`` (default: ``noun`` + "s") unless it is exactly 1."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
