"""System variables: the values MySQL clients and drivers ask for, as SingleStore reports them."""

from __future__ import annotations

import socket
import time
from typing import Any

from sqlfront.errors import (
    ER_GLOBAL_VARIABLE,
    ER_INCORRECT_GLOBAL_LOCAL_VAR,
    ER_NOT_SUPPORTED_YET,
    ER_UNKNOWN_SYSTEM_VARIABLE,
    ER_VARIABLE_IS_READONLY,
    ER_WRONG_TYPE_FOR_VAR,
    ER_WRONG_VALUE_FOR_VAR,
    SqlError,
)
from sqlfront.functions import VERSION
from storage import retention

MEMSQL_VERSION = "8.9.3"

# name -> (default, read_only)
DEFAULTS: dict[str, tuple[Any, bool]] = {
    "version": (VERSION, True),
    "memsql_version": (MEMSQL_VERSION, True),
    "version_comment": ("drlab (SingleStore-compatible DR emulator)", True),
    "version_compile_os": ("Linux", True),
    "version_compile_machine": ("x86_64", True),
    "protocol_version": (10, True),
    "autocommit": (1, False),
    "auto_increment_increment": (1, False),
    "auto_increment_offset": (1, False),
    "character_set_client": ("utf8mb4", False),
    "character_set_connection": ("utf8mb4", False),
    "character_set_database": ("utf8mb4", False),
    "character_set_filesystem": ("binary", False),
    "character_set_results": ("utf8mb4", False),
    "character_set_server": ("utf8mb4", False),
    "character_set_system": ("utf8", True),
    "collation_connection": ("utf8mb4_general_ci", False),
    "collation_database": ("utf8mb4_general_ci", False),
    "collation_server": ("utf8mb4_general_ci", False),
    "connect_timeout": (10, False),
    "consensus_election_timeout": (30000, False),
    "consensus_enabled": ("OFF", False),
    "drlab_replica_hold_timeout": (retention.REPLICA_HOLD_TIMEOUT, False),
    "default_storage_engine": ("InnoDB", False),
    "default_tmp_storage_engine": ("InnoDB", False),
    "div_precision_increment": (4, False),
    "explicit_defaults_for_timestamp": (1, False),
    "foreign_key_checks": (1, False),
    "group_concat_max_len": (1024, False),
    "have_ssl": ("DISABLED", True),
    "hostname": (socket.gethostname(), True),
    "init_connect": ("", False),
    "innodb_lock_wait_timeout": (50, False),
    "interactive_timeout": (28800, False),
    "license": ("GPL", True),
    "lower_case_table_names": (0, True),
    "max_allowed_packet": (67108864, False),
    "max_connections": (151, False),
    "max_execution_time": (0, False),
    "net_buffer_length": (16384, False),
    "net_read_timeout": (30, False),
    "net_write_timeout": (60, False),
    "performance_schema": (0, True),
    "pipelines_max_retries_per_batch_partition": (4, False),
    "pipelines_stop_on_error": (1, False),
    "port": (3306, True),
    "query_cache_size": (0, False),
    "query_cache_type": ("OFF", False),
    "read_only": (0, False),
    "secure_file_priv": ("", True),
    "server_id": (1, False),
    "snapshot_trigger_size": (retention.SNAPSHOT_TRIGGER_SIZE, False),
    "snapshots_to_keep": (retention.SNAPSHOTS_TO_KEEP, False),
    "sql_auto_is_null": (0, False),
    "sql_mode": ("STRICT_ALL_TABLES", False),
    "sql_quote_show_create": (1, False),
    "sql_safe_updates": (0, False),
    "sql_select_limit": (18446744073709551615, False),
    "sql_notes": (1, False),
    "sql_warnings": (0, False),
    "system_time_zone": (time.strftime("%Z"), True),
    "time_zone": ("SYSTEM", False),
    "transaction_isolation": ("READ-COMMITTED", False),
    "tx_isolation": ("READ-COMMITTED", False),
    "transaction_read_only": (0, False),
    "tx_read_only": (0, False),
    "unique_checks": (1, False),
    "wait_timeout": (28800, False),
    "warning_count": (0, True),
    "error_count": (0, True),
    "last_insert_id": (0, False),
    "identity": (0, False),
    "insert_id": (0, False),
    "timestamp": (0, False),
    "ssl_cipher": ("", True),
}

_ON = {"on": 1, "true": 1, "1": 1, "off": 0, "false": 0, "0": 0}
_BOOLEAN = {"autocommit", "foreign_key_checks", "unique_checks", "sql_safe_updates", "sql_auto_is_null", "read_only",
            "transaction_read_only", "tx_read_only", "sql_notes", "sql_warnings", "sql_quote_show_create"}


# variables with no session value, and those whose session value is a read-only copy of the global
GLOBAL_ONLY = {"connect_timeout", "max_connections", "snapshots_to_keep", "snapshot_trigger_size",
               "drlab_replica_hold_timeout"}
SESSION_READ_ONLY = {"max_allowed_packet"}
# accepted ranges: MySQL's for the limits the wire enforces, and the retention settings' (docs/retention.md);
# a value outside is refused, never clamped silently
RANGES = {"connect_timeout": (2, 31536000), "max_connections": (1, 100000), "max_allowed_packet": (1024, 1 << 30),
          "snapshots_to_keep": (1, 10), "snapshot_trigger_size": (4096, 1 << 40),
          "drlab_replica_hold_timeout": (1, 31536000)}


def normalize(name: str, value: Any, scope: str = "session") -> Any:
    """Check a value assigned to a system variable the way MySQL does (1231 for a bad one)."""
    if name not in DEFAULTS:
        raise SqlError(ER_UNKNOWN_SYSTEM_VARIABLE, f"Unknown system variable '{name}'")
    default, read_only = DEFAULTS[name]
    if read_only:
        raise SqlError(ER_INCORRECT_GLOBAL_LOCAL_VAR, f"Variable '{name}' is a read only variable")
    if scope != "global" and name in GLOBAL_ONLY:
        raise SqlError(ER_GLOBAL_VARIABLE, f"Variable '{name}' is a GLOBAL variable and should be set with SET GLOBAL")
    if scope != "global" and name in SESSION_READ_ONLY:
        raise SqlError(ER_VARIABLE_IS_READONLY, f"SESSION variable '{name}' is read-only. Use SET GLOBAL to assign the value")
    if name == "consensus_enabled":
        key = str(value).lower()
        if key not in _ON:
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"Variable '{name}' can't be set to the value of '{value}'")
        if _ON[key]:  # refused rather than accepted and ignored: nothing would elect or replicate
            raise SqlError(ER_NOT_SUPPORTED_YET, "consensus_enabled = ON is not supported by drlab yet: a node is a "
                           "one-aggregator cluster until voting members and master elections land (docs/consensus.md)")
        return "OFF"
    if name in _BOOLEAN:
        key = str(value).lower()
        if key not in _ON:
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"Variable '{name}' can't be set to the value of '{value}'")
        return _ON[key]
    if isinstance(default, int) and not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise SqlError(ER_WRONG_TYPE_FOR_VAR, f"Incorrect argument type to variable '{name}'") from None
    if name in RANGES:
        low, high = RANGES[name]
        if not low <= value <= high:
            raise SqlError(ER_WRONG_VALUE_FOR_VAR, f"Variable '{name}' can't be set to the value of '{value}' "
                                 f"(it takes {low} to {high})")
    return value


class GlobalVariables:
    """Node-wide values; sessions copy them at connect time, as MySQL does."""

    def __init__(self, **overrides: Any) -> None:
        self.values = {k: v for k, (v, _) in DEFAULTS.items()}
        self.values.update(overrides)
