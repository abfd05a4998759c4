"""Database triggers of the ledger (docs/ledger.md, "What the database refuses").

- Every inserted event is queued for the sequencer (ledger_pendingevent), in the
  writer's own statement: no extra round trip, and no event can be written unqueued.
- On PostgreSQL, UPDATE and DELETE are refused on the evidence tables: events, entries,
  checkpoints, logs, their keys and access logs. (SQLite, the embedded default, has no
  such trigger: its test databases are emptied with DELETE.) The verifier does not rely
  on these triggers: a change made after dropping them is still detected.
"""

from django.db import migrations

APPEND_ONLY_TABLES = [
    "ledger_event",
    "ledger_entry",
    "ledger_checkpoint",
    "ledger_log",
    "ledger_logkey",
    "ledger_accesslog",
]

POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    """,
    *[
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();"
        for table in APPEND_ONLY_TABLES
    ],
    """
    CREATE OR REPLACE FUNCTION ledger_queue_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO ledger_pendingevent (event_id) VALUES (NEW.id);
        RETURN NULL;
    END $$;
    """,
    "CREATE TRIGGER ledger_event_queue AFTER INSERT ON ledger_event "
    "FOR EACH ROW EXECUTE FUNCTION ledger_queue_event();",
    "INSERT INTO ledger_pendingevent (event_id) SELECT id FROM ledger_event;",
]

POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_event_queue ON ledger_event;",
    "DROP FUNCTION IF EXISTS ledger_queue_event();",
    *[f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in APPEND_ONLY_TABLES],
    "DROP FUNCTION IF EXISTS ledger_refuse_change();",
]

SQLITE_FORWARD = [
    "CREATE TRIGGER ledger_event_queue AFTER INSERT ON ledger_event "
    "BEGIN INSERT INTO ledger_pendingevent (event_id) VALUES (NEW.id); END;",
    "INSERT INTO ledger_pendingevent (event_id) SELECT id FROM ledger_event;",
]

SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS ledger_event_queue;"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        # Without parameters, so that the '%' of RAISE's format stays a '%'.
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_merkle_log")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
