"""The node process: the MySQL wire (mysql-mimic), sessions, parsing caches and plans, dispatch,
accounts, SHOW and information_schema, read locks, the pipelines runner, metrics and the DR
statements on a node. ``server.app`` is the one composition root; ``server.features`` is the typed
registry features contribute to; ``server.errors`` maps domain errors to MySQL codes at the edge.

May import: ``sqlfront``, ``storage``, ``replication``. Never ``lab``."""
