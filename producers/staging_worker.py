"""Entry point of a reading process: ``python -m producers.staging_worker`` (see staging)."""

from __future__ import annotations

from producers.reading import worker_main

__all__: list[str] = []

if __name__ == "__main__":
    worker_main()
