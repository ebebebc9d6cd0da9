"""Durability: the LMDB log, checksummed records, epoch history, each database's materialised
SQLite file with its applied LSN and table catalog, apply / revert / snapshot, crash recovery.
Errors are domain values (``HistoryGap``, ``OutOfOrder``, ``CorruptRecord``) with no MySQL code.

May import: none of our packages."""
