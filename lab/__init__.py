"""Tools that drive drlab nodes from outside: the `drlab` console script, the local lab, the
runbook runner, the sql / ping clients and the node launcher that tests and benches share.

May import: `server` only through its entry point (`server.cli`), third-party libraries.
Nothing in server, storage, replication or sqlfront imports this package."""
