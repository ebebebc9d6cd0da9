"""Between nodes: a replica's link to its source (connect as a MySQL client, compare histories,
provision or revert-and-stream, apply in order) and the source side that serves the log.

May import: ``storage``. Never ``server``, ``lab``; ``sqlfront`` only for the internal replication
statements until they move here (see ARCHITECTURE.md)."""
