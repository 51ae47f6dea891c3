"""Persistence layer: turn the states of one mapper into INSERT/UPDATE/DELETE.

The unit of work hands each function a mapper, the states to write and a
Core ``Connection``; records are built in plain Python (``records.py``, no
SQL), grouped into batches that share a statement, and executed in
executemany form (``inserts.py`` for new rows, ``writes.py`` for UPDATE and
DELETE, ``readback.py`` for version counters and values the database set).
"""

from .inserts import insert_states
from .records import FlushRecordError
from .writes import delete_states, post_update_states, update_states

__all__ = ["FlushRecordError", "delete_states", "insert_states", "post_update_states",
           "update_states"]
