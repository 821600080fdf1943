"""A throwaway OpenLDAP slapd for integration tests: AD-like users, a read-only bind account, loopback only.

slapd runs as an ordinary foreground process (``slapd -d 0``) on a free 127.0.0.1 port, with its own
directory, slapd.conf from ``tests/ldap/slapd.conf.in`` and an mdb database bulk-loaded by ``slapadd -q``
once per session (thousands of entries in well under a second; ldapadd would take seconds). Each server
gets a copy of that database, so a test may kill and restart its own server without disturbing others.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
TEMPLATES = Path(__file__).parent / "ldap"

BASE_DN = "dc=example,dc=com"
PEOPLE_DN = f"ou=people,{BASE_DN}"
READER_DN = f"cn=reader,ou=service,{BASE_DN}"
READER_PASSWORD = "Read only: s3cret, with spaces"  # not a word any message would contain by accident
LIMITED_DN = f"cn=limited,ou=service,{BASE_DN}"  # same password, but slapd's default 500-entry limit
USER_FILTER = "(objectClass=adLikeUser)"

# The worked example of DESIGN.md; the first user carries it.
WORKED_EXAMPLE_GUID = bytes.fromhex("1ebcff1ea34a9d4fa508d4d81f1f5873")
# Bytes that LDIF and careless decoders trip over: NUL, newline, CR, a leading space, ':' and '<'.
AWKWARD_GUID = bytes.fromhex("200a0d3a3c00ff80") + bytes.fromhex("0000000000000a20")


@dataclass(frozen=True)
class User:
    """One loaded user, as the tests expect to read it back."""

    dn: str
    sam: str
    aad: str | None  # msDS-aadObjectId exactly as stored (some uppercase), None when absent
    object_guid: bytes | None  # 16 raw bytes, None when absent
    upn: str | None
    mails: tuple[str, ...]

    @property
    def cn(self) -> str:
        """The naming value of a cn= DN (unescaped), else the account name."""
        rdn = self.dn.removesuffix(f",{PEOPLE_DN}")
        return rdn[3:].replace("\\,", ",") if rdn.startswith("cn=") else self.sam


def make_users(count: int, seed: int = 5) -> list[User]:
    """Deterministic AD-like users with every shape the audit meets: missing msDS-aadObjectId, objectGUID,
    UPN or mail, uppercase object ids, two mail values, non-ASCII DNs with an escaped comma."""
    rnd = random.Random(seed)
    users = []
    for i in range(count):
        guid: bytes | None = rnd.randbytes(16)
        aad: str | None = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        if i == 0:
            guid = WORKED_EXAMPLE_GUID
        elif i == 1:
            guid = AWKWARD_GUID
        elif i % 23 == 0:
            guid = None
        if i % 10 == 0 and i:
            aad = None
        elif i % 3 == 0 and aad:
            aad = aad.upper()
        sam = f"user{i:05d}"
        mails: tuple[str, ...] = (f"{sam}@example.com",)
        if i % 31 == 0 and i:
            mails = ()
        elif i % 50 == 0:
            mails = (f"{sam}@example.com", f"{sam}.alias@example.org")
        rdn = f"cn=Núñez\\, Ana María {i}" if i % 97 == 0 else f"uid={sam}"
        users.append(User(
            dn=f"{rdn},{PEOPLE_DN}",
            sam=sam,
            aad=aad,
            object_guid=guid,
            upn=None if i % 29 == 0 and i else f"{sam}@example.onmicrosoft.com",
            mails=mails,
        ))
    return users


def directory_ldif(users: Sequence[User]) -> bytes:
    """The whole tree for slapadd: base, OUs, the read-only bind account and the users."""
    salt = b"fixture!"
    hashed = "{SSHA}" + base64.b64encode(hashlib.sha1(READER_PASSWORD.encode() + salt).digest() + salt).decode()
    records = [
        [("dn", BASE_DN), ("objectClass", "dcObject"), ("objectClass", "organization"), ("dc", "example"),
         ("o", "Example")],
        [("dn", PEOPLE_DN), ("objectClass", "organizationalUnit"), ("ou", "people")],
        [("dn", f"ou=service,{BASE_DN}"), ("objectClass", "organizationalUnit"), ("ou", "service")],
        [("dn", READER_DN), ("objectClass", "organizationalRole"), ("objectClass", "simpleSecurityObject"),
         ("cn", "reader"), ("userPassword", hashed)],
        [("dn", LIMITED_DN), ("objectClass", "organizationalRole"), ("objectClass", "simpleSecurityObject"),
         ("cn", "limited"), ("userPassword", hashed)],
    ]
    for user in users:
        number = user.sam.removeprefix("user")
        record: list[tuple[str, str | bytes]] = [
            ("dn", user.dn), ("objectClass", "inetOrgPerson"), ("objectClass", "adLikeUser"),
            ("uid", user.sam), ("cn", user.cn),
            ("sn", number), ("sAMAccountName", user.sam),
        ]
        if user.aad is not None:
            record.append(("msDS-aadObjectId", user.aad))
        if user.object_guid is not None:
            record.append(("objectGUID", user.object_guid))
        if user.upn is not None:
            record.append(("userPrincipalName", user.upn))
        record += [("mail", mail) for mail in user.mails]
        records.append(record)
    return b"".join(b"".join(_ldif_line(name, value) for name, value in record) + b"\n" for record in records)


def _ldif_line(name: str, value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if isinstance(value, bytes) or not raw.isascii() or raw[:1] in (b" ", b":", b"<"):
        return f"{name}:: {base64.b64encode(raw).decode()}\n".encode()
    return f"{name}: {value}\n".encode()


def free_port() -> int:
    """A loopback port nobody listens on right now (slapd binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(directory: Path, tls: TlsFiles | None = None) -> Path:
    """slapd.conf for a server living in directory (pid file, mdb database under directory/data)."""
    tls_lines = ""
    if tls is not None:
        tls_lines = (f"TLSCACertificateFile {tls.ca}\nTLSCertificateFile {tls.cert}\n"
                     f"TLSCertificateKeyFile {tls.key}\n")
    text = (TEMPLATES / "slapd.conf.in").read_text()
    for name, value in (("@DIR@", str(directory)), ("@SCHEMA@", str(TEMPLATES / "adlike.schema")),
                        ("@TLS@", tls_lines), ("@READER_DN@", READER_DN), ("@LIMITED_DN@", LIMITED_DN)):
        text = text.replace(name, value)
    conf = directory / "slapd.conf"
    conf.write_text(text)
    return conf


def load_database(directory: Path, ldif: bytes) -> Path:
    """A database loaded with slapadd -q into directory/data, to be copied for each server."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    conf = write_config(directory)
    source = directory / "directory.ldif"
    source.write_bytes(ldif)
    done = subprocess.run([str(SLAPADD), "-q", "-f", str(conf), "-l", str(source)], capture_output=True, text=True,
                          timeout=60)
    if done.returncode:
        raise RuntimeError(f"slapadd failed ({done.returncode}): {done.stderr[-2000:]}")
    return directory / "data"


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, openssl: str) -> TlsFiles:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 only, so ldaps://localhost is a name
    mismatch (EC keys: fast)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca_key, csr, ext = directory / "ca.key", directory / "server.csr", directory / "server.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1\nsubjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        [openssl, "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(files.ca), "-days", "2",
         "-subj", "/CN=reconcile test CA"],
        [openssl, "req", *ec, "-keyout", str(files.key), "-out", str(csr), "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(files.ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-out", str(files.cert), "-days", "2", "-extfile", str(ext)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    return files


class Slapd:
    """One slapd process on loopback, with its own copy of a loaded database; stop/start keep the ports."""

    def __init__(self, directory: Path, data: Path, tls: TlsFiles | None = None):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # cp keeps data.mdb sparse: mdb sizes the file to maxsize, mostly holes that a plain copy would write out
        subprocess.run(["cp", "-r", "--sparse=always", str(data), str(directory / "data")], check=True, timeout=60)
        self.conf = write_config(directory, tls)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port is not None, "this server was started without TLS"
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self) -> Slapd:
        """Start slapd in the foreground (-d 0) and wait until every listener accepts connections."""
        listeners = [f"{self.url}/"] + ([f"{self.ldaps_url}/"] if self.tls_port else [])
        log = (self.directory / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SLAPD), "-d", "0", "-f", str(self.conf), "-h", " ".join(listeners)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        deadline = time.monotonic() + 10
        while not all(_accepts(port) for port in ports):
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not come up on ports {ports}: {self.log_tail()}")
            time.sleep(0.02)
        return self

    def stop(self, kill: bool = False) -> None:
        """Stop slapd: SIGKILL drops every connection like a crash, SIGTERM is an orderly shutdown."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        path = self.directory / "slapd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def ldapsearch(self, *args: str) -> bytes:
        """ldapsearch as the read-only account (password through a file, never argv), stdout as bytes."""
        password_file = self.directory / "reader.pw"
        password_file.write_text(READER_PASSWORD)
        os.chmod(password_file, 0o600)
        done = subprocess.run(
            ["ldapsearch", "-x", "-H", self.url, "-D", READER_DN, "-y", str(password_file), *args],
            capture_output=True, timeout=60,
        )
        if done.returncode:
            raise RuntimeError(f"ldapsearch failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
        return done.stdout


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
