"""Authentication for mysql-mimic: mysql_native_password and caching_sha2_password against `Accounts`.

mysql-mimic's own auth loop cannot do this job: its identity provider only sees the user name (an
account is chosen by user *and* host), after caching_sha2's fast-auth-success it waits for the
client instead of sending OK, and after a failed authentication it carries on into the command
phase. `AuthConnectionMixin.authenticate` replaces that loop; the connection class must inherit it:

    class DrlabConnection(AuthConnectionMixin, mysql_mimic.connection.Connection): ...

and the server must be given `DrlabIdentityProvider(accounts)` as its identity_provider (the
provider supplies the handshake nonce and the default plugin, mysql_native_password).

Flow (what MySQL 8 does):
- The handshake offers mysql_native_password with a 20-byte nonce. If the client answered with
  the account's plugin, that answer is checked; otherwise the server sends an auth switch to the
  account's plugin (reusing the handshake nonce).
- mysql_native_password: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))) against '*'+HEX(SHA1(SHA1(pw))).
- caching_sha2_password fast path: XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)) against the
  stored SHA256(SHA256(pw)): AuthMoreData 0x03 then OK at once. Otherwise (no fast verifier, or a
  mismatch, as in MySQL) AuthMoreData 0x04, full authentication: over TLS (or a unix socket) the
  client sends the cleartext password; otherwise it asks for the RSA public key (0x02) and sends
  RSA-OAEP(password + NUL XOR nonce). Cleartext over an insecure transport is refused.
- Failure: ERR 1045 (28000) "Access denied for user 'u'@'h' (using password: YES|NO)", the same for
  an unknown user, then the connection is closed (never left open in the command phase).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from mysql_mimic import packets
from mysql_mimic.auth import AuthInfo, AuthPlugin, AuthState, IdentityProvider, User
from mysql_mimic.connection import Connection
from mysql_mimic.errors import ErrorCode
from mysql_mimic.utils import nonce as make_nonce

from server.accounts import (
    CACHING_SHA2,
    NATIVE,
    Account,
    Accounts,
    account_name,
    verify_caching_sha2_password,
    verify_caching_sha2_scramble,
    verify_native_scramble,
)

logger = logging.getLogger(__name__)

FAST_AUTH_SUCCESS = b"\x03"
PERFORM_FULL_AUTH = b"\x04"
REQUEST_PUBLIC_KEY = b"\x02"
# A caching_sha2 verifier no password matches (wrong length): stands in for an unknown user.
_NO_PASSWORD_MATCHES = "$A$005$" + "!" * 20


class _NoncePlugin(AuthPlugin):
    """Only supplies the handshake nonce; the exchange itself is AuthConnectionMixin.authenticate."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client_plugin_name = name

    async def auth(self, auth_info: AuthInfo | None = None) -> AuthState:
        # Some clients expect a NUL after the 20-byte nonce.
        yield make_nonce(20) + b"\x00"


class DrlabIdentityProvider(IdentityProvider):
    """Identity provider backed by `Accounts`. Needs a connection class with AuthConnectionMixin."""

    def __init__(
        self,
        accounts: Accounts,
        default_plugin: str = NATIVE,
        rsa_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        if default_plugin not in (NATIVE, CACHING_SHA2):
            raise ValueError(f"unsupported default plugin {default_plugin!r}")
        self.accounts = accounts
        self._plugins = [_NoncePlugin(default_plugin)] + [
            _NoncePlugin(p) for p in (NATIVE, CACHING_SHA2) if p != default_plugin
        ]
        self.rsa_key = rsa_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key_pem = self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def get_plugins(self) -> list[AuthPlugin]:
        return list(self._plugins)

    async def get_user(self, username: str) -> User | None:
        # Only mysql-mimic's own auth loop calls this: it would mean the connection class lacks
        # AuthConnectionMixin. Fail closed.
        raise RuntimeError("DrlabIdentityProvider requires a Connection class with AuthConnectionMixin")

    def decrypt_password(self, ciphertext: bytes, nonce: bytes) -> bytes | None:
        """RSA-OAEP(SHA1) decrypt, then undo the XOR with the nonce; None if it does not decrypt."""
        try:
            plain = self.rsa_key.decrypt(
                ciphertext,
                padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
            )
        except ValueError:
            return None
        if not nonce:
            return None
        pw = bytes(b ^ nonce[i % len(nonce)] for i, b in enumerate(plain))
        return pw[:-1] if pw.endswith(b"\x00") else pw


class _Rejected(asyncio.CancelledError):
    """Ends the connection after an authentication failure (bypasses mysql-mimic's
    `except Exception` in Connection._start, which would write a second ERR packet and keep the
    failure in a task)."""


class AuthConnectionMixin:
    """Mix into the mysql-mimic Connection subclass: real password checks, MySQL's flow.

    After a successful authentication the connection carries `auth_user`, `auth_host` (the peer
    address: pass it to Accounts.check) and `auth_account_host` (the account's host pattern, for
    CURRENT_USER()). session.username is set to the user name as well.
    """

    auth_user: str | None = None
    auth_host: str | None = None
    auth_account_host: str | None = None
    _auth_rejected: bool = False

    # The attributes below come from mysql_mimic.connection.Connection.
    stream: Any
    session: Any
    identity_provider: Any
    handshake_auth_data: bytes | None
    handshake_auth_plugin: str | None

    async def start(self) -> None:
        try:
            await super().start()  # type: ignore[misc]
        except asyncio.CancelledError:
            if self._auth_rejected:
                return
            raise

    # -- transport facts
    def peer_host(self) -> str:
        """The client's address as accounts see it ('localhost' for a unix socket)."""
        peer = self.stream.writer.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            host = str(peer[0])
            if host.startswith("::ffff:") and "." in host:
                host = host[7:]
            return host
        return "localhost"

    def transport_is_secure(self) -> bool:
        """TLS, or a unix socket (MySQL treats both as secure for caching_sha2 full auth)."""
        writer = self.stream.writer
        if writer.get_extra_info("ssl_object") is not None:
            return True
        sock = writer.get_extra_info("socket")
        return sock is not None and getattr(sock, "family", None) == getattr(socket, "AF_UNIX", None)

    # -- packets
    async def _read_auth_packet(self) -> bytes:
        return await self.stream.read()

    async def _more_data(self, data: bytes) -> None:
        await self.stream.write(packets.make_auth_more_data(data))

    async def _reject(self, username: str, host: str, password_used: bool) -> None:
        msg = f"Access denied for user {account_name(username, host)} (using password: {'YES' if password_used else 'NO'})"
        logger.info("authentication failed for %s", account_name(username, host))
        await self.stream.write(
            packets.make_error(
                capabilities=self.capabilities,  # type: ignore[attr-defined]
                server_charset=self.server_charset,  # type: ignore[attr-defined]
                msg=msg,
                code=ErrorCode.ACCESS_DENIED_ERROR,
            )
        )
        self._auth_rejected = True
        try:
            self.stream.writer.close()
        except Exception:  # pragma: no cover - already closed
            pass
        raise _Rejected()

    # -- the exchange
    async def authenticate(
        self,
        username: str,
        auth_response: bytes,
        client_plugin_name: str | None,
        connect_attrs: dict[str, str],
        auth_state: AuthState | None = None,
        server_plugin: AuthPlugin | None = None,
    ) -> None:
        provider = self.identity_provider
        if not isinstance(provider, DrlabIdentityProvider):
            await super().authenticate(  # type: ignore[misc]
                username=username,
                auth_response=auth_response,
                client_plugin_name=client_plugin_name,
                connect_attrs=connect_attrs,
                auth_state=auth_state,
                server_plugin=server_plugin,
            )
            return
        if auth_state is not None:
            await auth_state.aclose()

        host = self.peer_host()
        accounts = provider.accounts
        account = accounts.lookup(username, host)
        nonce = (self.handshake_auth_data or b"").rstrip(b"\x00")[:20]
        client_plugin = client_plugin_name or NATIVE

        if account is None:
            # Same answer as for a wrong password, after the same exchange: MySQL does not say
            # whether the user exists. A caching_sha2 client goes through full authentication.
            if client_plugin != CACHING_SHA2:
                await self._reject(username, host, bool(auth_response))
            account = Account(username, "%", CACHING_SHA2, auth_string=_NO_PASSWORD_MATCHES)

        plugin = account.plugin
        response = auth_response
        if client_plugin != plugin:
            if client_plugin_name is None:
                # A client without CLIENT_PLUGIN_AUTH cannot switch.
                await self._reject(username, host, bool(auth_response))
            await self.stream.write(
                packets.make_auth_switch_request(
                    server_charset=self.server_charset,  # type: ignore[attr-defined]
                    plugin_name=plugin,
                    plugin_provided_data=nonce + b"\x00",
                )
            )
            response = await self._read_auth_packet()
            logger.debug("auth switch %s -> %s for %r", client_plugin, plugin, username)

        if plugin == CACHING_SHA2:
            ok, password_used = await self._caching_sha2(provider, account, response, nonce)
        else:
            ok = verify_native_scramble(account.auth_string, response, nonce)
            password_used = bool(response)

        if not ok:
            await self._reject(username, host, password_used)
            return

        self.auth_user = account.user
        self.auth_host = host
        self.auth_account_host = account.host
        self.session.username = account.user
        await self.stream.write(self.ok())  # type: ignore[attr-defined]

    async def _caching_sha2(
        self, provider: DrlabIdentityProvider, account: Account, response: bytes, nonce: bytes
    ) -> tuple[bool, bool]:
        """Returns (authenticated, password_used)."""
        accounts = provider.accounts
        if response in (b"", b"\x00"):
            # No password sent: fine only for an account without one (OK, no fast-auth packet).
            return (not account.auth_string), False
        if not account.auth_string:
            return False, True
        fast = accounts.fast_digest(account)
        if fast and len(response) == 32 and verify_caching_sha2_scramble(fast, response, nonce):
            await self._more_data(FAST_AUTH_SUCCESS)
            logger.debug("caching_sha2 fast auth ok for %r", account.user)
            return True, True
        # Full authentication.
        await self._more_data(PERFORM_FULL_AUTH)
        pkt = await self._read_auth_packet()
        secure = self.transport_is_secure()
        logger.debug("caching_sha2 full auth for %r (secure=%s)", account.user, secure)
        if secure:
            password = pkt[:-1] if pkt.endswith(b"\x00") else pkt
        else:
            if pkt == REQUEST_PUBLIC_KEY:
                logger.debug("sending RSA public key")
                await self._more_data(provider.public_key_pem)
                pkt = await self._read_auth_packet()
            if len(pkt) != provider.rsa_key.key_size // 8:
                # Not RSA-encrypted: refuse a cleartext password over an insecure transport.
                return False, True
            decrypted = provider.decrypt_password(pkt, nonce)
            if decrypted is None:
                return False, True
            password = decrypted
        if verify_caching_sha2_password(account.auth_string, password):
            accounts.remember_fast_digest(account, password)
            return True, True
        return False, True


class AuthConnection(AuthConnectionMixin, Connection):
    """mysql-mimic's Connection with drlab authentication (for tests and simple servers)."""
