"""Accounts: users, password verifiers, privileges, and MySQL's access-denied errors.

Only password verifiers are stored, never plaintext:
- mysql_native_password: '*' + HEX(SHA1(SHA1(pw))), as MySQL's mysql.user.authentication_string.
- caching_sha2_password: MySQL's '$A$005$' + 20-byte salt + 43-char SHA-256 crypt (5000 rounds),
  the verifier for the full-authentication path, plus HEX(SHA256(SHA256(pw))), the value the
  fast-authentication scramble is checked against (MySQL keeps that one in an in-memory cache;
  drlab persists it so the fast path works from the first login after a restart). An account
  created from a bare MySQL hash (`IDENTIFIED WITH caching_sha2_password AS '$A$005$...'`) has no
  fast verifier until its first full authentication (then it is cached in memory, as MySQL does).

The whole store is one JSON blob persisted through the `save` callback after every change; a
change is applied to a copy first, so a failing `save` leaves the store unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlfront.accounts import (
    PRIVILEGES,
    AlterUser,
    CreateUser,
    DropUser,
    Grant,
    Revoke,
    SetPassword,
    ShowGrants,
)
from sqlfront.errors import (
    ER_NO_DB,
    SqlError,
)

NATIVE = "mysql_native_password"
CACHING_SHA2 = "caching_sha2_password"
PLUGINS = (NATIVE, CACHING_SHA2)

_ORDER_INDEX = {p: i for i, p in enumerate(PRIVILEGES)}

TABLE_PRIVILEGES = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "REFERENCES",
        "INDEX",
        "ALTER",
        "CREATE VIEW",
        "SHOW VIEW",
        "TRIGGER",
    }
)
DB_PRIVILEGES = TABLE_PRIVILEGES | {
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "REPLICATION",  # SingleStore's: REPLICATE DATABASE may copy this database (checked per database)
}
GLOBAL_PRIVILEGES = frozenset(PRIVILEGES)
ROOT = ("root", "%")

_LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


# --------------------------------------------------------------------------------------------------
# Password verifiers


def native_auth_string(password: str) -> str:
    """MySQL's mysql_native_password authentication_string: '*' + HEX(SHA1(SHA1(pw)))."""
    if not password:
        return ""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def native_stage2(auth_string: str) -> bytes | None:
    """SHA1(SHA1(pw)) from a stored native authentication string."""
    s = auth_string[1:] if auth_string.startswith("*") else auth_string
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        return None
    return raw if len(raw) == 20 else None


def verify_native_scramble(auth_string: str, scramble: bytes, nonce: bytes) -> bool:
    """Check SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))) against the stored SHA1(SHA1(pw))."""
    if not auth_string:
        return not scramble
    stage2 = native_stage2(auth_string)
    if stage2 is None or len(scramble) != 20:
        return False
    mask = hashlib.sha1(nonce + stage2).digest()
    stage1 = bytes(a ^ b for a, b in zip(scramble, mask, strict=True))
    return hmac.compare_digest(hashlib.sha1(stage1).digest(), stage2)


_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SHA256_CRYPT_ORDER = (
    (0, 10, 20),
    (21, 1, 11),
    (12, 22, 2),
    (3, 13, 23),
    (24, 4, 14),
    (15, 25, 5),
    (6, 16, 26),
    (27, 7, 17),
    (18, 28, 8),
    (9, 19, 29),
)
SHA2_ROUNDS = 5000
SHA2_SALT_LEN = 20


def sha256_crypt(password: bytes, salt: bytes, rounds: int = SHA2_ROUNDS) -> str:
    """SHA-256 crypt (Drepper's algorithm, as `$5$`), without length limit on the salt: MySQL's
    caching_sha2_password uses a 20-byte salt. Returns the 43-character digest."""
    p, s = password, salt
    b = hashlib.sha256(p + s + p).digest()
    a = hashlib.sha256(p + s)
    n = len(p)
    while n > 32:
        a.update(b)
        n -= 32
    a.update(b[:n])
    n = len(p)
    while n:
        a.update(b if n & 1 else p)
        n >>= 1
    c = a.digest()
    dp = hashlib.sha256(p * len(p)).digest()
    p_seq = (dp * (len(p) // 32 + 1))[: len(p)]
    ds = hashlib.sha256(s * (16 + c[0])).digest()
    s_seq = (ds * (len(s) // 32 + 1))[: len(s)]
    sha = hashlib.sha256
    for i in range(rounds):
        h = sha(p_seq if i & 1 else c)
        if i % 3:
            h.update(s_seq)
        if i % 7:
            h.update(p_seq)
        h.update(c if i & 1 else p_seq)
        c = h.digest()
    out = []
    for i0, i1, i2 in _SHA256_CRYPT_ORDER:
        w = (c[i0] << 16) | (c[i1] << 8) | c[i2]
        for _ in range(4):
            out.append(_CRYPT_ALPHABET[w & 0x3F])
            w >>= 6
    w = (c[31] << 8) | c[30]
    for _ in range(3):
        out.append(_CRYPT_ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def caching_sha2_auth_string(password: str, salt: bytes | None = None) -> str:
    """MySQL's caching_sha2_password authentication_string: '$A$005$' + salt(20) + digest(43)."""
    if not password:
        return ""
    if salt is None:
        salt = "".join(secrets.choice(_CRYPT_ALPHABET) for _ in range(SHA2_SALT_LEN)).encode()
    digest = sha256_crypt(password.encode(), salt, SHA2_ROUNDS)
    return f"$A${SHA2_ROUNDS // 1000:03d}$" + salt.decode("latin-1") + digest


def verify_caching_sha2_password(auth_string: str, password: bytes) -> bool:
    """Check a cleartext password (full authentication) against a '$A$005$...' string."""
    if not auth_string:
        return not password
    m = re.fullmatch(r"\$A\$([0-9A-Fa-f]{3})\$(.*)", auth_string, re.S)
    if not m or len(m.group(2)) != SHA2_SALT_LEN + 43:
        return False
    rounds = int(m.group(1), 16) * 1000
    raw = m.group(2).encode("latin-1")
    salt, digest = raw[:SHA2_SALT_LEN], raw[SHA2_SALT_LEN:]
    return hmac.compare_digest(sha256_crypt(password, salt, rounds).encode(), digest)


def caching_sha2_fast_digest(password: str | bytes) -> str:
    """HEX(SHA256(SHA256(pw))): what a fast-auth scramble is verified against."""
    pw = password.encode() if isinstance(password, str) else password
    return hashlib.sha256(hashlib.sha256(pw).digest()).hexdigest()


def verify_caching_sha2_scramble(fast_digest_hex: str, scramble: bytes, nonce: bytes) -> bool:
    """Check XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)) against SHA256(SHA256(pw))."""
    try:
        stage2 = bytes.fromhex(fast_digest_hex)
    except ValueError:
        return False
    if len(stage2) != 32 or len(scramble) != 32:
        return False
    mask = hashlib.sha256(stage2 + nonce).digest()
    stage1 = bytes(a ^ b for a, b in zip(scramble, mask, strict=True))
    return hmac.compare_digest(hashlib.sha256(stage1).digest(), stage2)


# --------------------------------------------------------------------------------------------------
# Accounts


@dataclass
class GrantEntry:
    privileges: set[str] = field(default_factory=set)
    grant_option: bool = False


@dataclass
class Account:
    user: str
    host: str
    plugin: str = NATIVE
    auth_string: str = field(default="", repr=False)  # '' means no password
    fast_digest: str = field(default="", repr=False)  # caching_sha2 only
    # (db, table): db '*' and table '*' is the global level; (db, '*') the database level.
    grants: dict[tuple[str, str], GrantEntry] = field(default_factory=dict)

    @property
    def has_password(self) -> bool:
        return bool(self.auth_string)

    def to_json(self) -> dict:
        return {
            "user": self.user,
            "host": self.host,
            "plugin": self.plugin,
            "auth_string": self.auth_string,
            "fast_digest": self.fast_digest,
            "grants": [
                {
                    "db": db,
                    "table": table,
                    "privileges": sorted(g.privileges, key=_priv_key),
                    "grant_option": g.grant_option,
                }
                for (db, table), g in self.grants.items()
            ],
        }

    @classmethod
    def from_json(cls, d: dict) -> Account:
        acc = cls(d["user"], d["host"], d.get("plugin", NATIVE), d.get("auth_string", ""))
        acc.fast_digest = d.get("fast_digest", "")
        for g in d.get("grants", []):
            acc.grants[(g["db"], g["table"])] = GrantEntry(set(g["privileges"]), bool(g["grant_option"]))
        return acc


def _priv_key(p: str) -> int:
    return _ORDER_INDEX.get(p, len(_ORDER_INDEX))


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _bq(s: str) -> str:
    return "`" + s.replace("`", "``") + "`"


def account_name(user: str, host: str) -> str:
    return f"{_quote(user)}@{_quote(host)}"


def _normalize_peer(host: str) -> str:
    host = (host or "").lower()
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host


def is_local(host: str) -> bool:
    return _normalize_peer(host) in _LOCAL_ADDRESSES


def _host_pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.S | re.I)


def host_matches(pattern: str, peer: str) -> bool:
    """MySQL host matching of an account host against the connection's peer address."""
    pattern = pattern.lower()
    peer = _normalize_peer(peer)
    if pattern in ("", "%"):
        return True
    local = peer in _LOCAL_ADDRESSES
    if local and pattern in _LOCAL_ADDRESSES:
        return True
    if "/" in pattern:  # ip/netmask or CIDR
        try:
            net = ipaddress.ip_network(pattern, strict=False)
            return ipaddress.ip_address(peer) in net
        except ValueError:
            return False
    if "%" not in pattern and "_" not in pattern:
        return pattern == peer
    rx = _host_pattern_regex(pattern)
    if rx.fullmatch(peer):
        return True
    return local and rx.fullmatch("localhost") is not None


def host_specificity(pattern: str) -> tuple[int, int, int]:
    """Sort key, most specific first: exact hosts, then wildcard patterns by the length of their
    literal prefix, '%' (and '') last."""
    if pattern in ("", "%"):
        return (2, 0, 0)
    if "/" in pattern:
        return (0, 1, -len(pattern))
    first_wild = min((i for i, c in enumerate(pattern) if c in "%_"), default=-1)
    if first_wild < 0:
        return (0, 0, -len(pattern))
    return (1, -first_wild, -len(pattern))


class AccountError(Exception):
    """An account statement or a privilege check refused; the message names the account and what to do.
    Carries no MySQL code: server.errors maps each kind to one."""


class AccessDenied(AccountError):
    """The account is unknown, or its password is wrong."""


class DatabaseAccessDenied(AccountError):
    """The account holds no privilege that covers the database."""


class TableAccessDenied(AccountError):
    """The account lacks the privilege on the table."""


class PrivilegeNeeded(AccountError):
    """A global privilege (CREATE USER, SUPER, RELOAD, ...) is needed."""


class UserOperationFailed(AccountError):
    """CREATE USER of an existing account, ALTER / DROP USER of a missing one."""


class NoSuchAccount(AccountError):
    """SET PASSWORD FOR an account that does not exist."""


class BadPasswordHash(AccountError):
    """IDENTIFIED BY PASSWORD / AS with a hash that is not in the plugin's format."""


class IllegalGrantLevel(AccountError):
    """A GRANT / REVOKE level that does not fit the privilege."""


class GlobalPrivilegeOnDatabase(AccountError):
    """A global-only privilege granted on a database."""


class GrantCreatesNoUser(AccountError):
    """GRANT to an account that does not exist (MySQL 8 creates none)."""


class NoSuchGrant(AccountError):
    """REVOKE or SHOW GRANTS of a grant the account does not have."""


class NoSuchTableGrant(AccountError):
    """REVOKE of a table grant that does not exist."""


def _access_denied(user: str, host: str, password_used: bool) -> AccessDenied:
    return AccessDenied(f"Access denied for user {account_name(user, host)} (using password: {'YES' if password_used else 'NO'})")


def _need_privilege(priv: str) -> PrivilegeNeeded:
    return PrivilegeNeeded(f"Access denied; you need (at least one of) the {priv} privilege(s) for this operation")


class Accounts:
    """The account store and privilege checks. Thread-safe."""

    def __init__(
        self,
        load: Callable[[], bytes | None],
        save: Callable[[bytes], None],
        root_password: str,
        default_plugin: str = NATIVE,
    ) -> None:
        self._save = save
        self._lock = threading.RLock()
        self._accounts: dict[tuple[str, str], Account] = {}
        self._lookup_cache: dict[tuple[str, str], Account | None] = {}
        # caching_sha2 fast-auth verifiers learnt from full authentications (MySQL's cache), for
        # accounts created from a bare MySQL hash. Cleared when the account changes.
        self._fast_cache: dict[tuple[str, str], str] = {}
        self.default_plugin = default_plugin
        blob = load()
        if blob:
            self._accounts = self._decode(blob)
        changed = False
        if not blob:
            self._accounts[ROOT] = self._new_root(root_password)
            changed = True
        elif root_password:
            root = self._accounts.get(ROOT)
            if root is None:
                self._accounts[ROOT] = self._new_root(root_password)
            else:
                self._set_password(root, root_password, None)
            changed = True
        if changed:
            self._save(self._encode(self._accounts))

    # -- persistence
    @staticmethod
    def _encode(accounts: dict[tuple[str, str], Account]) -> bytes:
        return json.dumps(
            {"version": 1, "accounts": [a.to_json() for a in accounts.values()]}, sort_keys=True
        ).encode()

    @staticmethod
    def _decode(blob: bytes) -> dict[tuple[str, str], Account]:
        d = json.loads(blob)
        out = {}
        for a in d.get("accounts", []):
            acc = Account.from_json(a)
            out[(acc.user, acc.host)] = acc
        return out

    def _new_root(self, password: str) -> Account:
        root = Account("root", "%", self.default_plugin)
        self._set_password(root, password, None)
        root.grants[("*", "*")] = GrantEntry(set(GLOBAL_PRIVILEGES), True)
        return root

    def _set_password(
        self, acc: Account, password: str | None, plugin: str | None, auth_string: str | None = None
    ) -> None:
        if plugin is not None:
            acc.plugin = plugin
        if auth_string is not None:
            if acc.plugin == NATIVE and auth_string and native_stage2(auth_string) is None:
                raise BadPasswordHash("The password hash doesn't have the expected format.")
            if acc.plugin == CACHING_SHA2 and auth_string and not auth_string.startswith("$A$"):
                raise BadPasswordHash("The password hash doesn't have the expected format.")
            acc.auth_string = auth_string.upper() if acc.plugin == NATIVE else auth_string
            acc.fast_digest = ""
            return
        password = password or ""
        if acc.plugin == CACHING_SHA2:
            acc.auth_string = caching_sha2_auth_string(password)
            acc.fast_digest = caching_sha2_fast_digest(password) if password else ""
        else:
            acc.auth_string = native_auth_string(password)
            acc.fast_digest = ""

    def _commit(self, accounts: dict[tuple[str, str], Account]) -> None:
        self._save(self._encode(accounts))
        self._accounts = accounts
        self._lookup_cache = {}
        self._fast_cache = {}

    # -- lookups
    def lookup(self, user: str, host: str) -> Account | None:
        """The account a connection from `host` as `user` authenticates as (MySQL's rules: the
        most specific matching host first; the anonymous user '' matches any name)."""
        key = (user, host)
        try:
            return self._lookup_cache[key]
        except KeyError:
            pass
        with self._lock:
            candidates = [
                acc
                for (u, h), acc in self._accounts.items()
                if (u == user or u == "") and host_matches(h, host)
            ]
            candidates.sort(key=lambda a: (host_specificity(a.host), a.user == ""))
            found = candidates[0] if candidates else None
            if len(self._lookup_cache) > 10000:
                self._lookup_cache.clear()
            self._lookup_cache[key] = found
            return found

    def get(self, user: str, host: str) -> Account | None:
        """The account named exactly 'user'@'host' (no pattern matching)."""
        return self._accounts.get((user, host.lower()))

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def fast_digest(self, account: Account) -> str:
        return account.fast_digest or self._fast_cache.get((account.user, account.host), "")

    def remember_fast_digest(self, account: Account, password: bytes) -> None:
        """After a successful full authentication: cache the fast-auth verifier (MySQL does too)."""
        if account.plugin == CACHING_SHA2 and not account.fast_digest:
            self._fast_cache[(account.user, account.host)] = caching_sha2_fast_digest(password)

    # -- privileges
    def _privileges(self, acc: Account, db: str | None, table: str | None) -> set[str]:
        privs: set[str] = set()
        g = acc.grants.get(("*", "*"))
        if g:
            privs |= g.privileges
        if db is not None:
            g = acc.grants.get((db, "*"))
            if g:
                privs |= g.privileges
            if table is not None:
                g = acc.grants.get((db, table))
                if g:
                    privs |= g.privileges
        return privs

    def _has_grant_option(self, acc: Account, db: str, table: str) -> bool:
        levels = [("*", "*")]
        if db != "*":
            levels.append((db, "*"))
            if table != "*":
                levels.append((db, table))
        return any(acc.grants.get(lv, GrantEntry()).grant_option for lv in levels)

    def has_privilege(
        self, user: str, host: str, privilege: str, db: str | None = None, table: str | None = None
    ) -> bool:
        acc = self.lookup(user, host)
        if acc is None:
            return False
        privilege = privilege.upper()
        if privilege == "USAGE":
            return True
        return privilege in self._privileges(acc, db, table)

    def check(self, user: str, host: str, privilege: str, db: str | None, table: str | None = None) -> None:
        """Raise MySQL's error unless 'user' connected from `host` (the peer address) holds
        `privilege` on db.table (table None: database level; db None: global level)."""
        acc = self.lookup(user, host)
        privilege = privilege.upper()
        if acc is not None:
            if privilege in ("SELECT", "USAGE") and db is not None and db.lower() == "information_schema":
                return  # everyone reads information_schema (rows are filtered by the caller)
            if privilege == "USAGE":
                # USAGE on a database (USE, SHOW TABLES): any privilege on it or on one of its tables
                if db is None or self._any_privilege_on(acc, db, table):
                    return
            elif privilege in self._privileges(acc, db, table):
                return
        if table is not None:
            raise TableAccessDenied(f"{privilege} command denied to user {account_name(user, host)} for table '{table}'")
        if db is not None:
            priv_host = acc.host if acc is not None else host
            raise DatabaseAccessDenied(f"Access denied for user {account_name(user, priv_host)} to database '{db}'")
        raise _need_privilege(privilege)

    @staticmethod
    def _any_privilege_on(acc: Account, db: str, table: str | None = None) -> bool:
        if db.lower() == "information_schema":
            return True
        for (gdb, gtable), g in acc.grants.items():
            if not g.privileges and not (g.grant_option and gdb != "*"):
                continue
            if gdb == "*" or (gdb == db and (table is None or gtable in ("*", table))):
                return True
        return False

    def databases_visible(self, user: str, host: str, db: str) -> bool:
        """Whether SHOW DATABASES lists `db` for this user: any privilege on it or on one of its
        tables, or any global privilege (information_schema always)."""
        if db.lower() == "information_schema":
            return True
        acc = self.lookup(user, host)
        return acc is not None and self._any_privilege_on(acc, db)

    def table_visible(self, user: str, host: str, db: str, table: str) -> bool:
        """Whether SHOW TABLES, SHOW TABLE STATUS and information_schema.TABLES / COLUMNS /
        STATISTICS list `db`.`table` for this user: as MySQL, any privilege on the table, on its
        database or globally (a grant on one table does not reveal the database's other tables)."""
        if db.lower() == "information_schema":
            return True
        acc = self.lookup(user, host)
        if acc is None:
            return False
        for (gdb, gtable), g in acc.grants.items():
            if not g.privileges and not (g.grant_option and gdb != "*"):
                continue
            if gdb == "*" or (gdb == db and gtable in ("*", table)):
                return True
        return False

    # -- statements
    def execute(
        self, cmd, current_user: str, current_host: str, current_db: str | None = None
    ) -> list[tuple] | None:
        """Apply an account command as 'current_user' connected from `current_host` (the peer
        address). `current_db` resolves GRANT ... ON tbl / ON *.

        Returns None, or for SHOW GRANTS one row per GRANT line: (line, 'user@host'), the second
        element being what MySQL's column header shows after "Grants for "."""
        me = self.lookup(current_user, current_host)
        if me is None:
            raise _access_denied(current_user, current_host, True)
        if isinstance(cmd, ShowGrants):
            return self._show_grants(cmd, me)
        with self._lock:
            accounts = copy.deepcopy(self._accounts)
            if isinstance(cmd, CreateUser):
                self._require_global(me, "CREATE USER")
                self._create_user(accounts, cmd)
            elif isinstance(cmd, AlterUser):
                self._alter_user(accounts, cmd, me)
            elif isinstance(cmd, DropUser):
                self._require_global(me, "CREATE USER")
                self._drop_user(accounts, cmd)
            elif isinstance(cmd, SetPassword):
                self._set_password_cmd(accounts, cmd, me)
            elif isinstance(cmd, Grant):
                self._grant(accounts, cmd, me, current_host, current_db)
            elif isinstance(cmd, Revoke):
                self._revoke(accounts, cmd, me, current_host, current_db)
            else:
                raise TypeError(f"not an account command: {type(cmd).__name__}")
            self._commit(accounts)
        return None

    def show_grants_header(self, cmd: ShowGrants, current_user: str, current_host: str) -> str:
        """The column name of SHOW GRANTS: 'Grants for user@host'."""
        if cmd.user is None:
            me = self.lookup(current_user, current_host)
            user, host = (me.user, me.host) if me else (current_user, current_host)
        else:
            user, host = cmd.user, cmd.host or "%"
        return f"Grants for {user}@{host}"

    def _require_global(self, me: Account, priv: str) -> None:
        if priv not in self._privileges(me, None, None):
            raise _need_privilege(priv)

    def _create_user(self, accounts: dict, cmd: CreateUser) -> None:
        key = (cmd.user, cmd.host.lower())
        if key in accounts:
            if cmd.if_not_exists:
                return
            raise UserOperationFailed(f"Operation CREATE USER failed for {account_name(*key)}")
        acc = Account(key[0], key[1], cmd.plugin or self.default_plugin)
        self._set_password(acc, cmd.password, None, cmd.auth_string)
        accounts[key] = acc

    def _alter_user(self, accounts: dict, cmd: AlterUser, me: Account) -> None:
        key = (me.user, me.host) if cmd.user is None else (cmd.user, (cmd.host or "%").lower())
        if key != (me.user, me.host):
            self._require_global(me, "CREATE USER")
        acc = accounts.get(key)
        if acc is None:
            if cmd.if_exists:
                return
            raise UserOperationFailed(f"Operation ALTER USER failed for {account_name(*key)}")
        if cmd.password is not None or cmd.auth_string is not None or cmd.plugin is not None:
            self._set_password(acc, cmd.password, cmd.plugin, cmd.auth_string)

    def _drop_user(self, accounts: dict, cmd: DropUser) -> None:
        missing = [(u, h.lower()) for u, h in cmd.users if (u, h.lower()) not in accounts]
        if missing and not cmd.if_exists:
            names = ",".join(account_name(*k) for k in missing)
            raise UserOperationFailed(f"Operation DROP USER failed for {names}")
        for u, h in cmd.users:
            accounts.pop((u, h.lower()), None)

    def _set_password_cmd(self, accounts: dict, cmd: SetPassword, me: Account) -> None:
        key = (me.user, me.host) if cmd.user is None else (cmd.user, (cmd.host or "%").lower())
        if key != (me.user, me.host) and "CREATE USER" not in self._privileges(me, None, None):
            raise DatabaseAccessDenied(f"Access denied for user {account_name(me.user, me.host)} to database 'mysql'")
        acc = accounts.get(key)
        if acc is None:
            raise NoSuchAccount("Can't find any matching row in the user table")
        self._set_password(acc, cmd.password, None)

    @staticmethod
    def _level(cmd: Grant | Revoke, current_db: str | None) -> tuple[str, str]:
        db = cmd.db
        if db is None:
            if current_db is None:
                raise SqlError(ER_NO_DB, "No database selected", "3D000")
            db = current_db
        if db == "*" and cmd.table != "*":
            raise IllegalGrantLevel("Illegal GRANT/REVOKE command; please consult the manual to see which privileges can be used")
        return db, cmd.table

    @staticmethod
    def _expand(privs: list[str], db: str, table: str) -> tuple[set[str], bool]:
        """Privileges of a GRANT/REVOKE at its level; ALL expands to everything the level allows.
        Returns (privileges, grant_option_mentioned)."""
        allowed = GLOBAL_PRIVILEGES if db == "*" else DB_PRIVILEGES if table == "*" else TABLE_PRIVILEGES
        out: set[str] = set()
        grant_option = False
        for p in privs:
            if p == "ALL":
                out |= allowed
            elif p == "USAGE":
                continue
            elif p == "GRANT OPTION":
                grant_option = True
            elif p not in allowed:
                if table == "*":
                    raise GlobalPrivilegeOnDatabase("Incorrect usage of DB GRANT and GLOBAL PRIVILEGES")
                raise IllegalGrantLevel("Illegal GRANT/REVOKE command; please consult the manual to see which privileges "
                    "can be used")
            else:
                out.add(p)
        return out, grant_option

    def _require_grant_rights(
        self, me: Account, current_host: str, privs: set[str], db: str, table: str
    ) -> None:
        """The granter needs GRANT OPTION and the privileges it grants, at that level or above."""
        ok = self._has_grant_option(me, db, table) and privs <= self._privileges(
            me, None if db == "*" else db, None if table == "*" else table
        )
        if ok:
            return
        if db == "*":
            raise _access_denied(me.user, current_host, me.has_password)
        if table == "*":
            raise DatabaseAccessDenied(f"Access denied for user {account_name(me.user, me.host)} to database '{db}'")
        raise TableAccessDenied(f"GRANT command denied to user {account_name(me.user, current_host)} for table '{table}'")

    def _grant(
        self, accounts: dict, cmd: Grant, me: Account, current_host: str, current_db: str | None
    ) -> None:
        db, table = self._level(cmd, current_db)
        privs, _ = self._expand(cmd.privileges, db, table)
        self._require_grant_rights(me, current_host, privs, db, table)
        key = (cmd.user, cmd.host.lower())
        acc = accounts.get(key)
        if acc is None:
            if cmd.password is None:
                raise GrantCreatesNoUser("You are not allowed to create a user with GRANT")
            self._require_global(me, "CREATE USER")
            acc = Account(key[0], key[1], self.default_plugin)
            accounts[key] = acc
        elif cmd.password is not None and key != (me.user, me.host):
            self._require_global(me, "CREATE USER")  # GRANT ... IDENTIFIED BY changes a password
        if cmd.password is not None:
            self._set_password(acc, cmd.password, None)
        entry = acc.grants.setdefault((db, table), GrantEntry())
        entry.privileges |= privs
        entry.grant_option = entry.grant_option or cmd.with_grant_option
        if not entry.privileges and not entry.grant_option and (db, table) != ("*", "*"):
            del acc.grants[(db, table)]  # GRANT USAGE ON db.* creates nothing
        acc.grants.setdefault(("*", "*"), GrantEntry())

    def _revoke(
        self, accounts: dict, cmd: Revoke, me: Account, current_host: str, current_db: str | None
    ) -> None:
        key = (cmd.user, cmd.host.lower())
        acc = accounts.get(key)
        if cmd.all_levels:
            self._require_global(me, "CREATE USER")
            if acc is None:
                raise NoSuchGrant(f"There is no such grant defined for user '{key[0]}' on host '{key[1]}'")
            acc.grants.clear()
            return
        db, table = self._level(cmd, current_db)
        privs, grant_option = self._expand(cmd.privileges, db, table)
        self._require_grant_rights(me, current_host, privs, db, table)
        entry = acc.grants.get((db, table)) if acc is not None else None
        if acc is None or (entry is None and db != "*"):
            if table != "*":
                raise NoSuchTableGrant(f"There is no such grant defined for user '{key[0]}' on host '{key[1]}' on table '{table}'")
            raise NoSuchGrant(f"There is no such grant defined for user '{key[0]}' on host '{key[1]}'")
        if entry is None:
            return
        entry.privileges -= privs
        if grant_option:
            entry.grant_option = False
        if not entry.privileges and not entry.grant_option and (db, table) != ("*", "*"):
            del acc.grants[(db, table)]

    def _show_grants(self, cmd: ShowGrants, me: Account) -> list[tuple]:
        acc: Account | None = me
        if cmd.user is not None:
            key = (cmd.user, (cmd.host or "%").lower())
            if key != (me.user, me.host) and "SELECT" not in self._privileges(me, "mysql", None):
                raise DatabaseAccessDenied(f"Access denied for user {account_name(me.user, me.host)} to database 'mysql'")
            acc = self._accounts.get(key)
            if acc is None:
                raise NoSuchGrant(f"There is no such grant defined for user '{key[0]}' on host '{key[1]}'")
        assert acc is not None
        who = f"{acc.user}@{acc.host}"
        return [(line, who) for line in grant_lines(acc)]


def grant_lines(acc: Account) -> list[str]:
    """SHOW GRANTS lines, MySQL 5.7 style: global level first, then databases, then tables."""
    who = account_name(acc.user, acc.host)

    def line(privs: set[str], grant_option: bool, full: frozenset[str], target: str) -> str:
        if privs >= full:
            text = "ALL PRIVILEGES"
        elif privs:
            text = ", ".join(sorted(privs, key=_priv_key))
        else:
            text = "USAGE"
        return f"GRANT {text} ON {target} TO {who}" + (" WITH GRANT OPTION" if grant_option else "")

    g = acc.grants.get(("*", "*"), GrantEntry())
    lines = [line(g.privileges, g.grant_option, GLOBAL_PRIVILEGES, "*.*")]
    for (db, table), g in sorted(acc.grants.items()):
        if db == "*" or table != "*":
            continue
        lines.append(line(g.privileges, g.grant_option, DB_PRIVILEGES, f"{_bq(db)}.*"))
    for (db, table), g in sorted(acc.grants.items()):
        if db == "*" or table == "*":
            continue
        lines.append(line(g.privileges, g.grant_option, TABLE_PRIVILEGES, f"{_bq(db)}.{_bq(table)}"))
    return lines
