"""Real servers on loopback for the extraction tests, reusable by any test module:

* :class:`Dovecot` - Debian's ``dovecot-imapd`` run as an unprivileged process (``nobody`` when
  the tests run as root) with its own configuration in a temporary folder: passwd-file
  authentication, Maildir mailboxes written directly on disk, IMAPS and STARTTLS with a
  self-signed certificate for 127.0.0.1 (``Dovecot.ca_file``), plain IMAP on loopback.
* :class:`MotoS3` - moto's standalone server (``ThreadedMotoServer``) as an S3-compatible
  endpoint on 127.0.0.1.

Use the pytest fixtures ``dovecot_binary`` / ``moto_s3`` (import them into the test module:
``from tests.servers import dovecot_binary, moto_s3  # noqa: F401``). Without the server a test
skips with a message; with ``CI=true`` a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip the test (laptop) or fail it (CI) because a server cannot be had."""
    if IN_CI:
        pytest.fail(f"required test server unavailable in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def landing_state(landing: Path) -> dict[str, str]:
    """{relative path: sha256} of every visible file under a landing folder (what the ingest
    would read): compare runs file by file and byte by byte."""
    import hashlib

    return {
        str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in landing.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(landing).parts)
    }


def timing(name: str, seconds: float, **extra) -> None:
    """Append a measured duration to $CHATKPI_TIMINGS_FILE (when set), for docs/PERFORMANCE.md."""
    import json

    target = os.environ.get("CHATKPI_TIMINGS_FILE")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"name": name, "seconds": round(seconds, 3), **extra}) + "\n")


# -- Dovecot --------------------------------------------------------------------------------------


def find_dovecot(install: bool = True) -> str | None:
    """The dovecot binary; installs Debian's ``dovecot-imapd`` with apt-get where missing (root
    only). None if it cannot be had."""
    for candidate in (shutil.which("dovecot"), "/usr/sbin/dovecot"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    with apt_lock():
        if os.access("/usr/sbin/dovecot", os.X_OK):  # installed by another test worker meanwhile
            return "/usr/sbin/dovecot"
        for cmd in (["apt-get", "install", "-y", "-q", "dovecot-imapd"],
                    ["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "dovecot-imapd"]):
            subprocess.run(apt_command(cmd), env=APT_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=600, check=False)
            if os.access("/usr/sbin/dovecot", os.X_OK) and cmd[1] == "install":
                return "/usr/sbin/dovecot"
    return None


APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def apt_command(cmd: list[str]) -> list[str]:
    """An apt-get command that waits for dpkg's lock instead of failing on it."""
    return [cmd[0], "-o", "DPkg::Lock::Timeout=900", *cmd[1:]]


@contextlib.contextmanager
def apt_lock():
    """One apt-get at a time across the parallel test workers (pytest-xdist) of this machine."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), "chatkpi-tests-apt.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate + key for 127.0.0.1 / localhost (the certificate is its own CA file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatkpi test IMAP")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Dovecot:
    """One Dovecot instance on 127.0.0.1 with its own configuration and Maildir homes.

    ``users`` maps user name -> password. Write mail with :meth:`write_maildir` (before or
    after :meth:`start`; Dovecot picks new files up when a folder is opened), then connect to
    ``imap_port`` (plain / STARTTLS) or ``imaps_port`` (TLS) trusting ``ca_file``."""

    def __init__(self, binary: str, users: dict[str, str]):
        self.binary = binary
        self.users = dict(users)
        self.root = Path(tempfile.mkdtemp(prefix="chatkpi-dovecot-"))
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self.run_as = ("nobody", "nogroup") if os.geteuid() == 0 else None
        import grp
        import pwd

        if self.run_as:
            self.uid, self.gid = pwd.getpwnam(self.run_as[0]).pw_uid, grp.getgrnam(self.run_as[1]).gr_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.user_name = pwd.getpwuid(self.uid).pw_name
        self.group_name = grp.getgrgid(self.gid).gr_name
        self.ca_file, self.key_file = self_signed_certificate(self.root)
        self.log_file = self.root / "dovecot.log"
        self.config_file = self.root / "dovecot.conf"
        (self.root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir()
        dh = "/usr/share/dovecot/dh.pem"
        self.config_file.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log_file}
info_log_path = {self.log_file}
default_internal_user = {self.user_name}
default_internal_group = {self.group_name}
default_login_user = {self.user_name}
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
mail_location = maildir:~/Maildir
mail_fsync = never
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{self.key_file}
{f'ssl_dh = <{dh}' if os.path.exists(dh) else ''}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""
        )

    # -- mailboxes ----------------------------------------------------------------------

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "home" / user / "Maildir"
        return base if folder == "INBOX" else base / ("." + folder.replace("/", "."))

    def write_maildir(self, user: str, folder: str, messages: Iterable[tuple[bytes, str]]) -> int:
        """Write ``(raw message, maildir flags such as "S" or "FS")`` into ``cur/`` of a folder;
        returns how many. File names sort in write order, so Dovecot numbers UIDs in it."""
        box = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        if folder != "INBOX":
            (box / "maildirfolder").touch()
        count = 0
        base = int(time.time()) - 86_400
        existing = len(list((box / "cur").iterdir()))
        for i, (raw, flags) in enumerate(messages, start=existing):
            name = f"{base + i}.M{i:07d}P1.chatkpi,S={len(raw)}:2,{''.join(sorted(flags))}"
            (box / "cur" / name).write_bytes(raw)
            count += 1
        self._own(self.root / "home" / user)
        return count

    def maildir_names(self, user: str, folder: str = "INBOX") -> set[str]:
        box = self.maildir(user, folder)
        return {p.name for sub in ("cur", "new") if (box / sub).is_dir() for p in (box / sub).iterdir()}

    def _own(self, path: Path) -> None:
        if self.run_as is None:
            return
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    # -- process ------------------------------------------------------------------------

    def start(self) -> "Dovecot":
        self._own(self.root)
        os.chmod(self.root, 0o755)
        started = time.perf_counter()
        kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.run_as else {}
        self._stdout = open(self.root / "dovecot.stdout", "wb")
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config_file)],
            stdout=self._stdout, stderr=subprocess.STDOUT, start_new_session=True, **kwargs,
        )
        try:
            wait_for_port(self.imap_port, proc=self.proc)
            wait_for_port(self.imaps_port, proc=self.proc)
        except RuntimeError as exc:
            output = self.stop()
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"dovecot did not start: {exc}\n{output}\n{log}") from None
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> str:
        """Stop the server (its own process group: master and children) and return its output."""
        if self.proc is not None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self._stdout.close()
        self.proc = None
        out = self.root / "dovecot.stdout"
        return out.read_text(errors="replace") if out.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Dovecot":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


@pytest.fixture(scope="session")
def dovecot_binary() -> str:
    """Path of Debian's dovecot (installed with apt-get where missing and possible)."""
    binary = find_dovecot()
    if binary is None:
        unavailable("dovecot is not installed and could not be installed (apt-get install dovecot-imapd)")
    return binary


# -- moto S3 --------------------------------------------------------------------------------------


class MotoS3:
    """moto's standalone server on 127.0.0.1 (S3 API at ``endpoint_url``), test credentials."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.startup_seconds: float | None = None

    def start(self) -> "MotoS3":
        started = time.perf_counter()
        self._server.start()
        wait_for_port(self.port)
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="session")
def moto_s3():
    """A running moto S3 server on loopback for the session."""
    try:
        server = MotoS3().start()
    except Exception as exc:  # noqa: BLE001
        unavailable(f"moto's S3 server could not start: {exc}")
    yield server
    server.stop()
