"""Passage retrieval for search (stub: the demo never runs)."""


def retrieve(query: str, k: int = 8) -> list[str]:
    return []
