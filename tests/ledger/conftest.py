import sqlite3

import pytest

from kernel.sqlite import statements
from ledger import store


class LedgerFile:
    """The ledger tables in a real SQLite file, as an institution file holds them."""

    def __init__(self, path, institution_id="inst_a"):
        self.path = path
        self.institution_id = institution_id
        self.conn = sqlite3.connect(path, isolation_level=None)
        for statement in statements(store.SCHEMA):
            self.conn.execute(statement)

    def append(self, type_, actor, payload, case_id=None):
        return self.append_many([(type_, actor, payload, case_id)])[0]

    def append_many(self, items):
        self.conn.execute("BEGIN IMMEDIATE")
        events, _ = store.append(self.conn, self.institution_id, items)
        self.conn.execute("COMMIT")
        return events

    def close(self):
        self.conn.close()


@pytest.fixture
def ledger(tmp_path):
    opened = LedgerFile(tmp_path / "ledger.db")
    yield opened
    opened.close()
