"""Replication between nodes: the replication protocol (``protocol``), the replica side of a DR
link (``link``), the source side (``source``), and the manager that runs REPLICATE DATABASE,
differential failback, PAUSE / CONTINUE / STOP REPLICATING and the links' status (``manager``), and the
Yellowbrick-style cycles a source pushes to its target (``cycle``).

May import: ``storage`` and the standard library / third-party packages, nothing else of ours.
What it needs from the node is the ``manager.Host`` protocol, which the node implements; its
refusals are ``errors`` values the node maps to MySQL codes (server/errors.py); its statement
grammar (``protocol.parse_replication``) is registered on the node's feature registry at start-up,
so neither sqlfront nor replication imports the other. See DESIGN.md beside this file.
"""
