"""The 0.3/0.4 names of Session methods, and ``prune()``, kept for old code.

Each warns ``DeprecationWarning`` naming its replacement and then does what
the documents of its time describe, through the current API.  Mixed into
:class:`~datamapper.session.session.Session`.
"""

from __future__ import annotations

from typing import Any

from .._util import describe, lifecycle, warn_deprecated
from ..exc import InvalidRequestError, NoResultFound
from ..instance.state import instance_state


class LegacySessionMethods:
    """``save``, ``update``, ``save_or_update``, ``clear``, ``load``,
    ``create_transaction`` and ``prune``."""

    def save(self: Any, instance: object) -> None:
        """0.3/0.4: add a transient object (use :meth:`add`)."""
        warn_deprecated("Session.save()", "Session.add()")
        state = instance_state(instance)
        if state._key is not None:
            raise InvalidRequestError(
                f"Can't save() {describe(instance)}: it is already persisted "
                f"({lifecycle(state)}); save() takes a transient object, use session.add()"
            )
        self.add(instance)

    def update(self: Any, instance: object) -> None:
        """0.3/0.4: re-attach a detached object (use :meth:`add`)."""
        warn_deprecated("Session.update()", "Session.add()")
        state = instance_state(instance)
        if state._key is None:
            raise InvalidRequestError(
                f"Can't update() {describe(instance)}: it is not persisted "
                f"({lifecycle(state)}); update() takes a detached object, use session.add()"
            )
        self.add(instance)

    def save_or_update(self: Any, instance: object) -> None:
        """0.3/0.4: :meth:`save` or :meth:`update` as fits (use :meth:`add`)."""
        warn_deprecated("Session.save_or_update()", "Session.add()")
        self.add(instance)

    def clear(self: Any) -> None:
        """0.3/0.4: remove every object (use :meth:`expunge_all`)."""
        warn_deprecated("Session.clear()", "Session.expunge_all()")
        self.expunge_all()

    def load(self: Any, entity: object, ident: object) -> Any:
        """0.3/0.4: the object with primary key ``ident``, always re-read from the database
        (unflushed changes to it are overwritten); raises if there is no such row."""
        warn_deprecated("Session.load()", "Session.get(cls, ident, populate_existing=True)")
        with self.no_autoflush:  # the database wins: unflushed changes are not written first
            obj = self.get(entity, ident, populate_existing=True)
        if obj is None:
            name = getattr(entity, "__name__", repr(entity))
            raise NoResultFound(
                f"Can't load {name} with primary key {ident!r}: no such row in the database; "
                "use session.get() to receive None instead"
            )
        return obj

    def create_transaction(self: Any) -> Any:
        """0.3/0.4: begin a transaction, nested as a subtransaction inside one already
        begun (use :meth:`begin`)."""
        warn_deprecated("Session.create_transaction()", "Session.begin()")
        return self.begin(subtransactions=self._transaction is not None)


    def prune(self: Any) -> int:
        """Drop unreferenced objects from a strong identity map; the number dropped.

        Deprecated by the 0.7 documents along with ``weak_identity_map=False``: the
        default weak map prunes itself.  Objects that are modified, new or deleted,
        or still referenced elsewhere, stay.
        """
        warn_deprecated("Session.prune()", "the default weak identity map")
        imap = self._identity_map
        if imap.weak:
            return 0
        before = len(imap)
        held = [st for st in imap.states()
                if st._strong is not None and not st.modified and st not in self._deleted]
        for state in held:
            state._strong = None  # the last reference to an unreferenced object: it goes now
        for state in held:
            obj = state.obj()
            if obj is not None:
                state._strong = obj
        return before - len(imap)
