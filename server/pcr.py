"""CockroachDB's virtual clusters on a drlab node (docs/pcr.md): ``system`` always, plus those made
with CREATE VIRTUAL CLUSTER; each user database belongs to exactly one of them; a session works in
one, chosen at login by a database name ``cluster:<name>/<db>`` (CockroachDB's ``-ccluster=`` cannot
travel over the MySQL protocol) or else by the cluster setting
``server.controller.default_target_cluster``. A node that never creates one behaves as before.

The catalog (clusters, which database belongs to which, cluster settings) is one JSON document in
the store's metadata, written durably before a statement is acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from mysql_mimic.constants import KillKind

from server.node import Node
from server.session import Outcome, Session
from sqlfront.errors import (
    ER_BAD_DB,
    ER_DB_CREATE_EXISTS,
    ER_OPTION_PREVENTS_STATEMENT,
    ER_SPECIFIC_ACCESS_DENIED,
    ER_UNKNOWN_SYSTEM_VARIABLE,
    ER_WRONG_VALUE_FOR_VAR,
    SqlError,
)
from sqlfront.pcr import (
    AlterService,
    CreateVirtualCluster,
    SetClusterSetting,
    ShowClusterSetting,
    ShowVirtualClusters,
    parse_pcr,
)

SYSTEM = "system"
PREFIX = "cluster:"
_META = "virtual_clusters"
_FIRST_ID = 3  # CockroachDB: 1 is system, 2 the template; the first one created is 3
DEFAULT_TARGET = "server.controller.default_target_cluster"
RANGEFEED = "kv.rangefeed.enabled"
_DEFAULTS = {DEFAULT_TARGET: SYSTEM, RANGEFEED: "false"}
_BOOLS = {"true": "true", "false": "false", "on": "true", "off": "false", "1": "true", "0": "false"}


@dataclass
class VirtualCluster:
    id: int
    name: str
    data_state: str  # ready (the replication states come with PCR streams)
    service_mode: str  # none | shared


def unknown_cluster(name: str) -> SqlError:
    return SqlError(ER_BAD_DB, f"virtual cluster \"{name}\" does not exist; SHOW VIRTUAL CLUSTERS lists them")


class VirtualClusters:
    """The node's virtual clusters, database ownership and cluster settings."""

    def __init__(self, node: Node) -> None:
        self.node = node
        raw = node.store.log.meta_get(_META)
        doc: dict[str, Any] = json.loads(raw) if raw else {}
        self.clusters: dict[str, VirtualCluster] = {
            c["name"]: VirtualCluster(**c) for c in doc.get("clusters", [])}
        self.clusters.setdefault(SYSTEM, VirtualCluster(1, SYSTEM, "ready", "shared"))
        self.owner: dict[str, str] = doc.get("owner", {})  # database -> cluster; absent: system
        self.settings: dict[str, str] = {**_DEFAULTS, **doc.get("settings", {})}

    def _save(self) -> None:
        doc = {"clusters": [asdict(c) for c in self.clusters.values()], "owner": self.owner, "settings": self.settings}
        self.node.store.log.meta_put(_META, json.dumps(doc, sort_keys=True).encode())

    # -- the seam the node core reads (server.features.Clusters) ----------------------------------
    def login(self, database: str | None) -> tuple[str, str | None]:
        """(cluster, database) for the database name a client sent at login; refuses an unknown
        cluster or one not in service."""
        if database and database.lower().startswith(PREFIX):
            name, _, db = database[len(PREFIX):].partition("/")
            cluster, database = name, db or None
        else:
            cluster = self.settings[DEFAULT_TARGET]
        vc = self.clusters.get(cluster)
        if vc is None:
            raise unknown_cluster(cluster)
        if vc.service_mode != "shared":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"virtual cluster \"{cluster}\" is not in service (service_mode none) so it accepts no "
                           f"sessions; run ALTER VIRTUAL CLUSTER {cluster} START SERVICE SHARED from the system "
                           "virtual cluster")
        return cluster, database

    def owns(self, cluster: str, database: str) -> bool:
        return self.owner.get(database, SYSTEM) == cluster

    def created(self, session: Session, database: str) -> None:
        """Database ``database`` was just created by ``session``: it belongs to the session's cluster."""
        if session.cluster != SYSTEM:
            self.owner[database] = session.cluster
            self._save()

    async def dropped(self, database: str) -> None:
        if self.owner.pop(database, None) is not None:
            self._save()

    async def gate(self, session: Session, database: str) -> None:
        """A write to a database of another virtual cluster is a write to a database this session
        cannot see."""
        if self.node.store.get(database) is not None and not self.owns(session.cluster, database):
            raise SqlError(ER_BAD_DB, f"Unknown database '{database}'")

    # -- statements ------------------------------------------------------------------------------
    def _manage(self, session: Session, what: str) -> None:
        if session.cluster != SYSTEM:
            raise SqlError(ER_SPECIFIC_ACCESS_DENIED, f"{what} runs only in the system virtual cluster (this session "
                                                      f"is in \"{session.cluster}\"); connect with database "
                                                      "'cluster:system'")
        if not self.node.accounts.has_privilege(session.user, session.host, "SUPER"):
            raise SqlError(ER_SPECIFIC_ACCESS_DENIED,
                           f"Access denied; you need (at least one of) the SUPER privilege(s) for {what}")

    def _get(self, name: str) -> VirtualCluster:
        vc = self.clusters.get(name)
        if vc is None:
            raise unknown_cluster(name)
        return vc

    async def create(self, session: Session, cmd: CreateVirtualCluster) -> Outcome:
        self._manage(session, "CREATE VIRTUAL CLUSTER")
        if cmd.name in self.clusters:
            if cmd.if_not_exists:
                return Outcome()
            raise SqlError(ER_DB_CREATE_EXISTS, f"virtual cluster \"{cmd.name}\" already exists")
        if cmd.name.lower().endswith("-readonly") or "/" in cmd.name or not cmd.name.strip():
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"invalid virtual cluster name \"{cmd.name}\": it may not contain "
                                                   "'/' or end in '-readonly'")
        next_id = max([_FIRST_ID - 1, *(c.id for c in self.clusters.values())]) + 1
        self.clusters[cmd.name] = VirtualCluster(next_id, cmd.name, "ready", "shared")
        self._save()
        return Outcome()

    async def show(self, session: Session, cmd: ShowVirtualClusters) -> Outcome:
        self._manage(session, "SHOW VIRTUAL CLUSTERS")
        rows = sorted(self.clusters.values(), key=lambda c: c.id)
        if cmd.name is not None:
            rows = [self._get(cmd.name)]
        return Outcome(["id", "name", "data_state", "service_mode"],
                       [(c.id, c.name, c.data_state, c.service_mode) for c in rows])

    async def service(self, session: Session, cmd: AlterService) -> Outcome:
        what = "ALTER VIRTUAL CLUSTER ... " + ("START SERVICE SHARED" if cmd.shared else "STOP SERVICE")
        self._manage(session, what)
        vc = self._get(cmd.name)
        if vc.name == SYSTEM:
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"{what} cannot change the system virtual cluster")
        if cmd.shared and vc.data_state != "ready":
            raise SqlError(ER_OPTION_PREVENTS_STATEMENT,
                           f"virtual cluster \"{vc.name}\" has data_state {vc.data_state}; it can be put in service "
                           "only once ready (complete its replication first)")
        vc.service_mode = "shared" if cmd.shared else "none"
        self._save()
        if not cmd.shared:  # as CockroachDB stops the SQL server: its sessions end
            for s in list(self.node.sessions.values()):
                conn = self.node.connections.get(s.id)
                if s.cluster == vc.name and conn is not None:
                    conn.kill(KillKind.CONNECTION)
        return Outcome()

    async def set_setting(self, session: Session, cmd: SetClusterSetting) -> Outcome:
        self._manage(session, "SET CLUSTER SETTING")
        if cmd.setting not in _DEFAULTS:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"unknown cluster setting '{cmd.setting}'; drlab knows "
                                                       f"{', '.join(sorted(_DEFAULTS))}")
        value = cmd.value
        if cmd.setting == RANGEFEED:
            if value.lower() not in _BOOLS:
                raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"cluster setting '{RANGEFEED}' takes true or false, "
                                                       f"not '{value}'")
            value = _BOOLS[value.lower()]
        elif value not in self.clusters:
            raise unknown_cluster(value)
        self.settings[cmd.setting] = value
        self._save()
        return Outcome()

    async def show_setting(self, session: Session, cmd: ShowClusterSetting) -> Outcome:
        if cmd.setting not in _DEFAULTS:
            raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"unknown cluster setting '{cmd.setting}'; drlab knows "
                                                       f"{', '.join(sorted(_DEFAULTS))}")
        return Outcome([cmd.setting], [(self.settings[cmd.setting],)])


def install(node: Node) -> None:
    """Register the virtual clusters on ``node``."""
    vcs = VirtualClusters(node)
    f = node.features
    f.set_clusters(vcs)
    f.add_parser(parse_pcr)
    f.add_command(CreateVirtualCluster, vcs.create)
    f.add_command(ShowVirtualClusters, vcs.show)
    f.add_command(AlterService, vcs.service)
    f.add_command(SetClusterSetting, vcs.set_setting)
    f.add_command(ShowClusterSetting, vcs.show_setting)
    f.add_write_gate(vcs.gate)
    f.on_drop(vcs.dropped)
