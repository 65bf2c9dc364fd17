"""The live snapshot against `pg_dump --schema-only` of the same database, in one run.

For each size N, a database of N tables is built on an embedded PostgreSQL 18 (each table:
serial primary key, a unique varchar, a text, a timestamptz with a default, a foreign key to
the previous table, and a two-column index — about ten objects a table). Then, best of
five each, the two taking turns (so that a busy machine slows both alike):

- migdocs: a new live connection (read-only, as `audit` opens it) and a full
  `read_snapshot`, in-process — what `audit` does for each live database;
- pg_dump: `pg_dump --schema-only -f /dev/null` of the same database, from the same wheel.

A snapshot keeps each object as the row the server sent and makes its state when it is
looked up (the differ compares rows first); the last column times the read plus making
every state, the most any comparison could ask.

Usage: python -m bench.bench_live [N ...]   (default 1000 10000)

Prints a Markdown table and writes bench/results/live.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from migdocs.pg import ScratchServer, read_snapshot
from migdocs.pg.embedded import embedded_bin_dir
from migdocs.pg.live import connect_live

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = 5


def populate(server: ScratchServer, url: str, count: int) -> None:
    with server.connect(url) as conn:
        for number in range(count):
            parent = f", parent_id int REFERENCES t{number - 1} (id)" if number else ""
            conn.execute(
                f"CREATE TABLE t{number} (id serial PRIMARY KEY, code varchar(64) NOT NULL "
                f"UNIQUE, note text, created_at timestamptz NOT NULL DEFAULT now(){parent})"
            )
            conn.execute(f"CREATE INDEX t{number}_note_idx ON t{number} (note, created_at)")
        conn.execute("ANALYZE")


def snapshot(url: str, *, every_state: bool) -> tuple[float, int]:
    """Seconds to connect and read (and make every state), and the number of objects."""
    start = time.perf_counter()
    with connect_live(url) as conn:
        read = read_snapshot(conn)
        if every_state:
            for key in read:
                read[key]
    return time.perf_counter() - start, len(read)


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000]
    pg_dump = embedded_bin_dir() / "pg_dump"
    rows = []
    print("| tables | objects | migdocs snapshot | pg_dump --schema-only | ratio | every state |")
    print("|---|---|---|---|---|---|")
    with ScratchServer.embedded() as server:
        run_as = server._cluster.run_as if server._cluster is not None else {}
        for size in sizes:
            url = server.create_database()
            populate(server, url, size)
            ours, states, theirs = [], [], []
            objects = 0
            for _ in range(RUNS):
                seconds, objects = snapshot(server.url(url), every_state=False)
                ours.append(seconds)
                start = time.perf_counter()
                subprocess.run(
                    [str(pg_dump), "--schema-only", "-f", "/dev/null", "-d", server.url(url)],
                    check=True,
                    capture_output=True,
                    **run_as,
                )
                theirs.append(time.perf_counter() - start)
                states.append(snapshot(server.url(url), every_state=True)[0])
            server.drop_database(url)
            best, floor, whole = min(ours), min(theirs), min(states)
            rows.append(
                {
                    "tables": size,
                    "objects": objects,
                    "migdocs": best,
                    "pg_dump": floor,
                    "every_state": whole,
                }
            )
            print(
                f"| {size:,} | {objects:,} | {best:.2f} s | {floor:.2f} s | "
                f"{best / floor:.2f}× | {whole:.2f} s |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
