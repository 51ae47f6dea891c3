"""Session layer: Session, SessionTransaction, sessionmaker."""

from .execute_state import ORMExecuteState
from .maker import create_session, sessionmaker
from .session import Session, identity_key, object_session
from .transaction import SessionTransaction
from .tx_base import SessionTransactionOrigin

__all__ = ["ORMExecuteState", "Session", "SessionTransaction", "SessionTransactionOrigin", "create_session", "identity_key", "object_session",
           "sessionmaker"]
