"""Session flush orchestration: autoflush, ``flush()`` and its bookkeeping.

Mixed into :class:`~datamapper.session.session.Session`.  The unit of work
(:mod:`datamapper.unitofwork`) plans and runs the SQL; this module decides
when to flush, wraps the flush in a subtransaction and records what it did
in that transaction, so that a rollback can undo it.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection

from .._util import describe
from ..exc import (
    FlushError,
    InvalidRequestError,
    ObjectDeletedError,
    SAWarning,
)
from ..instance.seam import SessionLike
from ..instance.state import (
    FLUSH_EXECUTING,
    InstanceState,
    instance_state,
)
from ..loading.rows import resume_gc
from ..mapping.mapper import Mapper
from ..query import Query
from ..unitofwork.flush import UOWTransaction
from ..unitofwork.plan import FlushPlan
from ..unitofwork.references import with_pending_members
from .base import SessionBase
from .bulk import bulk_delete, bulk_update
from .dml_bulk import bulk_insert_mappings, bulk_save_objects, bulk_update_mappings
from .ownership import exclusive
from .transaction import SessionTransaction

log = logging.getLogger("datamapper.unitofwork")

# flushes of more objects than this run with the cycle collector paused
_GC_PAUSE_THRESHOLD = 1000


class SessionFlush(SessionBase):
    """``flush``, autoflush and bulk query updates/deletes."""

    def _autoflush(self) -> None:
        if self.autoflush and not self._flushing and not self._no_autoflush and (
            self._new or self._deleted or self._identity_map._modified
        ):
            try:
                self.flush()
            except Exception as e:
                if hasattr(e, "add_detail"):
                    e.add_detail(
                        "raised as a result of an autoflush before a query; use "
                        "'with session.no_autoflush:' if this flush happens too early"
                    )
                raise

    def _is_clean(self) -> bool:
        return not (self._identity_map._modified or self._new or self._deleted)

    def _flush_before_commit(self) -> None:
        """Before COMMIT or PREPARE (not inside a flush): flush until nothing is left
        to write (flush handlers may make changes)."""
        for _ in range(100):
            if self._is_clean():
                return
            self.flush()
        raise FlushError(
            "Can't commit: 100 flushes in a row each left new changes behind (a flush "
            "event handler, such as after_flush_postexec, keeps adding, changing or "
            "deleting objects); make those changes in before_flush, or stop making them"
        )

    @exclusive
    def flush(self, objects: Iterable[Any] | None = None) -> None:
        """Write all pending changes (or those of ``objects``) in dependency order."""
        if objects is not None:
            objects = list(objects)
            for o in objects:
                instance_state(o)  # an unmapped object is refused before anything happens
        tx = self._transaction
        if tx is not None and not tx.is_active:
            tx._assert_active()
        if self._flushing:
            raise InvalidRequestError(
                "Can't flush: this Session is already flushing (flush() was called from "
                "inside a flush, e.g. a before_flush or after_flush handler); don't call "
                "flush() there: objects added or changed in before_flush are written by the "
                "flush under way"
            )
        if self._is_clean():
            return
        if self._tx_blocks or self._closed:
            self._check_usable()
        self._flushing = True
        # A large flush allocates many short-lived, acyclic objects (parameter dicts,
        # links, result rows); pausing the cycle collector for its duration saves the
        # repeated full scans of every loaded object.  It is switched back on as soon
        # as the flush ends, whatever the outcome; what the pause left in the young
        # generations (the states of the objects just added, which live on) goes to
        # the oldest one unscanned (resume_gc), instead of being scanned at once by
        # the first allocation after the flush.
        pause_gc = gc.isenabled() and (
            len(self._new) + len(self._identity_map._modified) + len(self._deleted)
            > _GC_PAUSE_THRESHOLD)
        if pause_gc:
            gc.disable()
        try:
            self._flush(objects)
        finally:
            self._flushing = False
            if pause_gc:
                resume_gc()

    def _flush(self, objects: Iterable[Any] | None) -> None:
        if "before_flush" in self.dispatch.active:
            self.dispatch.fire("before_flush", self, None, objects)
            if self._is_clean():
                return
        if self._orphan_watch:
            self._expunge_marked_orphans()
        if self._deleted:
            try:
                self._cascade_deletes_again()
            except ObjectDeletedError as e:
                # an expired object being deleted (or reached by the delete cascade)
                # has no row left to load: the flush fails as one that had begun,
                # rolling the transaction back
                self._fail_flush(e)
                raise
        new, dirty, deleted = self._flush_lists(objects)
        uow = UOWTransaction(cast("SessionLike", self), new, dirty, deleted)
        plan = self._plan_flush(uow)
        if plan is None:
            return
        if self.echo_uow or log.isEnabledFor(logging.INFO):
            text_plan = str(plan)
            log.info("%s", text_plan)
            if self.echo_uow:
                print(text_plan)
        if self._transaction is None and not self.autocommit:  # (_begin_write, inline)
            self._autobegin()
        tx = self.begin(_subtrans=True)
        try:
            FLUSH_EXECUTING.add(self.hash_key)  # mapper events may run: warn on changes
            self._flush_loading = True
            try:
                uow.execute(self._flush_connection)
            finally:
                self._flush_loading = False
                FLUSH_EXECUTING.discard(self.hash_key)
            self._fire("after_flush", self, uow)
            self._post_flush(uow, tx, objects is None)
            self._fire("after_flush_postexec", self, uow)
        except BaseException as e:
            uow.undo_generated()
            if tx.state != "closed":
                tx.rollback(_capture_exception=e)
            raise
        tx.commit()

    def _flush_lists(self, objects: Iterable[Any] | None
                     ) -> tuple[list[InstanceState], list[InstanceState], list[InstanceState]]:
        """The new, dirty and deleted states a flush writes: all of them, or those of
        ``objects`` (and the pending members they bring along)."""
        if objects is None:
            marked = self._deleted
            dirty = [s for s in self._identity_map._modified
                     if not s._deleted and s not in marked]
            return list(self._new), dirty, list(self._deleted)
        given: set[InstanceState] = set()
        for o in objects:
            st = instance_state(o)
            if st.session_id != self.hash_key:
                raise InvalidRequestError(
                    f"Can't flush {describe(o)}: it is not in this Session; add it first"
                )
            given.add(st)
        wanted = with_pending_members(given, self.hash_key)
        new = [s for s in self._new if s in wanted]
        deleted = [s for s in self._deleted if s in wanted]
        dirty = [s for s in self._identity_map._modified
                 if s not in self._deleted and not s._deleted and s in wanted]
        return new, dirty, deleted

    def _plan_flush(self, uow: UOWTransaction) -> FlushPlan | None:
        """Presort, check and plan ``uow``; None when there is nothing left to write.
        What the flush itself loads here (collections of deleted parents ...) ignores
        lazy="raise" and raiseload(); handlers the flush calls do not."""
        self._flush_loading = True
        try:
            try:
                uow.presort()
            except ObjectDeletedError as e:
                self._fail_flush(e)  # (as for the delete cascade in _flush)
                raise
            if not uow.new and not uow.dirty and not uow.deleted:
                return None
            uow.check()
            return uow.build_plan()
        finally:
            self._flush_loading = False

    def _fail_flush(self, e: BaseException) -> None:
        """A flush that failed while reading what it must write: its transaction is
        rolled back, as for a statement that failed."""
        tx = self._begin_write()
        tx.rollback(_capture_exception=e)

    def _flush_connection(self, mapper: Mapper) -> Connection:
        tx = self._transaction
        assert tx is not None
        return tx._connection_for_bind(self.get_bind(mapper=mapper))

    def _post_flush(self, uow: UOWTransaction, tx: SessionTransaction,
                    full: bool = True) -> None:
        uow.finalize()
        if self._identity_map._modified and full:
            self._discard_inner_flush_changes()
        inserted = uow.inserted
        snapshot = tx._snapshot
        snapshot.new.extend(inserted)
        if snapshot.records_dirty:
            snapshot.dirty.update(dict.fromkeys(uow.updated, True))
        pop_new = self._new.pop
        if "pending_to_persistent" in self.dispatch.active:
            for state in inserted:
                obj = pop_new(state, None)
                if obj is not None:
                    self.dispatch.fire("pending_to_persistent", self, obj)
            # a handler may have changed the objects it was given
            self._identity_map._modified.update(s for s in inserted if s.modified)
        else:
            for state in inserted:
                pop_new(state, None)
        pop_deleted = self._deleted.pop
        tx_deleted = snapshot.deleted
        dispatch = self.dispatch
        if "persistent_to_deleted" not in dispatch.active:
            for state in uow.removed:
                obj = pop_deleted(state, None)
                tx_deleted[state] = obj if obj is not None else state.obj()
            return
        for state in uow.removed:
            obj = pop_deleted(state, None)
            tx_deleted[state] = obj if obj is not None else state.obj()
            if obj is not None and "persistent_to_deleted" in dispatch.active:
                dispatch.fire("persistent_to_deleted", self, obj)

    def _discard_inner_flush_changes(self) -> None:
        """Objects changed while the flush ran (by mapper or after_flush handlers) that
        it did not write: their changes are dropped, with a warning, so that commit()
        does not flush again and again."""
        states = [s for s in self._identity_map._modified if s not in self._deleted]
        if not states:
            return
        for st in states:
            st.commit_all()
            st._drop_modified()
        warnings.warn(
            f"Attribute history events accumulated on {len(states)} previously clean "
            "instances during the flush (changes made by flush event handlers) were "
            "discarded and will not be written; use set_committed_value() in those handlers, "
            "or make the change in before_flush",
            SAWarning, stacklevel=5)

    # -- bulk -----------------------------------------------------------------------------------
    def _bulk_update(self, query: Query[Any], values: dict[Any, Any], sync: object,
                     statement_kw: dict[str, Any] | None = None) -> int:
        return bulk_update(self, query, values, sync, statement_kw)

    def _bulk_delete(self, query: Query[Any], sync: object,
                     statement_kw: dict[str, Any] | None = None) -> int:
        return bulk_delete(self, query, sync, statement_kw)

    @exclusive
    def bulk_save_objects(self, objects: Iterable[Any], return_defaults: bool = False,
                          update_changed_only: bool = True, preserve_order: bool = True
                          ) -> None:
        """INSERT the transient objects and UPDATE the persistent ones of ``objects`` in
        batches, without adding them to this Session (1.x bulk API)."""
        bulk_save_objects(self, objects, return_defaults, update_changed_only, preserve_order)

    @exclusive
    def bulk_insert_mappings(self, mapper: object, mappings: Iterable[dict[str, Any]],
                             return_defaults: bool = False, render_nulls: bool = False
                             ) -> None:
        """INSERT one row per dictionary of attribute values (1.x bulk API); with
        ``return_defaults`` each dictionary receives its generated primary key."""
        bulk_insert_mappings(self, mapper, mappings, return_defaults, render_nulls)

    @exclusive
    def bulk_update_mappings(self, mapper: object, mappings: Iterable[dict[str, Any]]) -> None:
        """UPDATE one row per dictionary, found by the primary key it carries (1.x bulk
        API)."""
        bulk_update_mappings(self, mapper, mappings)
