"""The node's cluster as SingleStore describes it (facts.md §7): one master aggregator, no leaves.

A drlab node is a one-node cluster, so SHOW AGGREGATORS and information_schema.AGGREGATORS list
the node itself as the master aggregator (Role `Leader`, as consensus-enabled clusters name it),
and SHOW LEAVES is empty. Voting members and elections are not emulated.
"""

from __future__ import annotations

from typing import Any

from server.node import Node
from server.session import Outcome, Session
from sqlfront import statements as st

COLUMNS = ["Host", "Port", "State", "Opened_Connections", "Average_Roundtrip_Latency_ms", "Master_Aggregator",
           "Role", "NodeID", "Runtime_State"]
EXTENDED = ["Local_Minimum_Pre_Prepare_Ts", "Minimum_Pre_Prepare_Ts", "Availability_Group"]
LEAVES = ["Host", "Port", "Availability_Group", "Pair_Host", "Pair_Port", "State", "Opened_Connections",
          "Average_Roundtrip_Latency_ms", "NodeId"]


def _row(node: Node) -> tuple[Any, ...]:
    host, _, port = node.address.rpartition(":")
    return (host.strip("[]"), int(port), "online", len(node.sessions), None, 1, "Leader", 1, "online")


def install(node: Node) -> None:
    def aggregators(session: Session, cmd: st.Show) -> Outcome:
        if cmd.extended:
            return Outcome(columns=COLUMNS + EXTENDED, rows=[_row(node) + (None, None, 1)])
        return Outcome(columns=COLUMNS, rows=[_row(node)])

    node.features.add_show("aggregators", aggregators)
    node.features.add_show("leaves", lambda session, cmd: Outcome(columns=LEAVES, rows=[]))
    node.features.add_view("AGGREGATORS", ["HOST", "PORT", "STATE", "OPENED_CONNECTIONS", "AVERAGE_ROUNDTRIP_LATENCY",
                                           "MASTER_AGGREGATOR", "ROLE", "NODE_ID"], lambda n, s: [_row(n)[:8]])
