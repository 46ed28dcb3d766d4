"""OVOC console simulator, run by a real sshd as its ForceCommand (stdlib only: it runs under
the system python3 as the test's SSH user).

Interactive logins get an OVOC-like shell: `su -` (password from the settings file, echo off),
`EmsServerManager` with numbered menus worded as on the appliance, "Press Enter to continue",
the password prompt, and an import that really checks the files with openssl and really builds
a PKCS#12 and a JKS (openssl, keytool), then prints OVOC's success line or its SEM PKCS#12
failure and starts an HTTPS listener serving the imported certificate. Commands (scp -t,
sftp-server, mkdir, mv, ...) are run as given, as a real login shell would.

Settings (JSON file, argv[1]): root_password, hostname, cert_dir, state_dir, files{...},
https_port, restart_delay, https_lifetime, menu_variant ("8" or "7"), fault ("", "drop_in_menu",
"unexpected_menu", "drop_in_import").
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

SUCCESS = "PKCS#12 file and JKS Keystore generated successfully"
SEM_FAILURE = "Error: failed to generate the SEM PKCS#12 file from the certificate files."

MAIN = [
    "Show System Info",
    "Application Maintenance",
    "Collect Logs",
    "Network Configuration",
    "Date & Time",
    "Security",
    "Cluster Configuration",
    "Statistics Collection",
]
SECURITY_8 = [
    "Add OVOC User",
    "SSH",
    "DBA Password",
    "OS Users Passwords",
    "File Integrity Checker",
    "Software Integrity Checker (AIDE) and Pre-linking",
    "USB Storage",
    "Network Options",
    "Auditd Options",
    "OVOC Password Policy",
    "Server Certificate Updates",
    "HTTP Security Settings",
]
SECURITY_7 = [
    "Add OVOC User",
    "DBA Password",
    "OS Users Passwords",
    "SSH",
    "Server Certificates Update",
    "File Integrity Checker",
    "USB Storage",
]
CERTS = [
    "Server Certificate Updates - Generate Private Key and CSR",
    "Import Server Certificates (signed OVOC CSR)",
    "Import Server Certificates from Certificate Authority (CA)",
    "Restore Default Certificates",
    "Show Server Certificate",
]
CERTS_UNEXPECTED = [
    "Certificate Wizard (new)",
    "Show Server Certificate",
]


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text.replace("\n", "\r\n") + end)
    sys.stdout.flush()


def read_line(prompt: str, *, echo: bool = True) -> str:
    out(prompt, end="")
    fd = sys.stdin.fileno()
    old = None
    if not echo and os.isatty(fd):
        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
    try:
        line = sys.stdin.readline()
    finally:
        if old is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
            out()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


class Sim:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.host = cfg.get("hostname", "ovoc")

    def menu(self, title: str, entries: list[str], back: str) -> str:
        out("")
        out("=" * 60)
        out(f"  {title}")
        out("=" * 60)
        for i, label in enumerate(entries, 1):
            out(f" {i:>2}. {label}")
        out(f"  q. {back}")
        out("")
        prompt = (
            "Enter your choice : "
            if self.cfg.get("menu_variant", "8") == "8"
            else "Select option> "
        )
        return read_line(prompt).strip()

    def ems_manager(self) -> None:
        variant = self.cfg.get("menu_variant", "8")
        while True:
            choice = self.menu("OVOC Server Manager", MAIN, "Quit")
            if choice == "q":
                return
            if choice == str(MAIN.index("Security") + 1):
                self.security(SECURITY_8 if variant == "8" else SECURITY_7)
            elif choice.isdigit() and 1 <= int(choice) <= len(MAIN):
                out(f"{MAIN[int(choice) - 1]}: nothing to do in the simulator.")
            else:
                out("Invalid choice")

    def security(self, entries: list[str]) -> None:
        if self.cfg.get("fault") == "drop_in_menu":
            out("Loading Security menu ...")
            sys.stdout.flush()
            os._exit(1)  # the connection drops mid-menu
        while True:
            choice = self.menu("Security", entries, "Back")
            if choice == "q":
                return
            if choice.isdigit() and 1 <= int(choice) <= len(entries):
                label = entries[int(choice) - 1]
                if label.startswith("Server Certificate"):
                    self.certificates()
                else:
                    out(f"{label}: nothing to do in the simulator.")
            else:
                out("Invalid choice")

    def certificates(self) -> None:
        entries = CERTS_UNEXPECTED if self.cfg.get("fault") == "unexpected_menu" else CERTS
        while True:
            title = "Server Certificates Update"
            choice = self.menu(title, entries, "Back")
            if choice == "q":
                return
            if choice.isdigit() and 1 <= int(choice) <= len(entries):
                label = entries[int(choice) - 1]
                if label == "Import Server Certificates from Certificate Authority (CA)":
                    self.import_ca()
                else:
                    out(f"{label}: nothing to do in the simulator.")
            else:
                out("Invalid choice")

    def import_ca(self) -> None:
        out("Import Server Certificates")
        out(
            "Copy the server certificate, private key and CA certificates to "
            + self.cfg["cert_dir"]
        )
        read_line("Press Enter to continue")
        password = read_line("Enter the certificate password: ", echo=False)
        out("Importing server certificates ...")
        if self.cfg.get("fault") == "drop_in_import":
            os._exit(1)  # the session dies while the import runs
        ok, message = self.check_and_build(password)
        if ok:
            out(SUCCESS)
            out("Imported files and generated PKCS#12 with JKS Keystore files")
            out("Restarting OVOC services ...")
            self.start_https()
        else:
            out(message)
            out(SEM_FAILURE)
        read_line("Press Enter to continue")

    def check_and_build(self, password: str) -> tuple[bool, str]:
        d = Path(self.cfg["cert_dir"])
        f = self.cfg["files"]
        state = Path(self.cfg["state_dir"])
        cert, key, root = (
            d / f["server_certificate"],
            d / f["private_key"],
            d / f["root_certificate"],
        )
        inters = [d / n for n in f["intermediate_certificates"] if (d / n).exists()]
        for path in (cert, key, root):
            if not path.is_file():
                return False, f"Error: {path} not found."
        # The key must be an unencrypted PEM key (Apache format): no password is tried.
        r = run("openssl", "pkey", "-in", key, "-passin", "pass:", "-pubout")
        if r.returncode != 0 or b"-----BEGIN" not in key.read_bytes():
            return False, f"Error: cannot read the private key {key}."
        c = run("openssl", "x509", "-in", cert, "-noout", "-pubkey")
        if c.returncode != 0:
            return False, f"Error: cannot read the certificate {cert}."
        if c.stdout != r.stdout:
            return False, "Error: the certificate does not match the private key."
        untrusted = state / "untrusted.pem"
        untrusted.write_bytes(b"".join(p.read_bytes() for p in inters))
        v_args = ["openssl", "verify", "-CAfile", root]
        if inters:
            v_args += ["-untrusted", untrusted]
        v = run(*v_args, cert)
        if v.returncode != 0:
            return (
                False,
                f"Error: certificate chain verification failed: {v.stdout.decode().strip()}",
            )
        store_pw = password or "changeit"
        p12, jks = state / "server.p12", state / "server.jks"
        for old in (p12, jks):
            if old.exists():
                old.unlink()
        chain = state / "chain.pem"
        chain.write_bytes(untrusted.read_bytes() + root.read_bytes())
        b = run(
            "openssl",
            "pkcs12",
            "-export",
            "-inkey",
            key,
            "-in",
            cert,
            "-certfile",
            chain,
            "-name",
            "ovoc",
            "-out",
            p12,
            "-passout",
            f"pass:{store_pw}",
        )
        if b.returncode != 0:
            return False, "Error: openssl could not build the PKCS#12 file."
        k = run(
            "keytool",
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            p12,
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            store_pw,
            "-destkeystore",
            jks,
            "-deststoretype",
            "JKS",
            "-deststorepass",
            store_pw,
            "-destkeypass",
            store_pw,
        )
        if k.returncode != 0 or not jks.exists():
            return False, "Error: keytool could not build the JKS keystore."
        (state / "served.pem").write_bytes(cert.read_bytes() + chain.read_bytes())
        (state / "served.key").write_bytes(key.read_bytes())
        return True, ""

    def start_https(self) -> None:
        state = Path(self.cfg["state_dir"])
        self.stop_https(state)  # a restart: the services serving the old certificate stop
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", sys.argv[1]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives the SSH session, like OVOC's services
        )
        (state / "https.pid").write_text(str(proc.pid))

    @staticmethod
    def stop_https(state: Path) -> None:
        pid_file = state / "https.pid"
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        for _ in range(40):  # its port is free again within 2 s
            try:
                os.kill(pid, 0)
            except OSError:
                return
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
            time.sleep(0.05)

    def shell(self) -> None:
        out(f"Last login: {time.strftime('%a %b %d %H:%M:%S %Y')} from 127.0.0.1")
        user = os.environ.get("USER", "acems")
        root = False
        while True:
            prompt = f"[root@{self.host} ~]# " if root else f"[{user}@{self.host} ~]$ "
            try:
                line = read_line(prompt).strip()
            except EOFError:
                return
            if not line:
                continue
            if line in ("su", "su -", "su - root", "/bin/su -", "/bin/su - root"):
                if root:
                    continue
                password = read_line("Password: ", echo=False)
                time.sleep(0.05)
                if password == self.cfg["root_password"]:
                    root = True
                else:
                    out("su: Authentication failure")
            elif line == "EmsServerManager":
                if not root:
                    out("EmsServerManager: this utility must be run as root")
                    continue
                self.ems_manager()
            elif line in ("exit", "logout"):
                if root:
                    root = False
                    out("logout")
                else:
                    out("logout")
                    return
            else:
                out(f"-bash: {line.split()[0]}: command not found")


def run(*args: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in args], capture_output=True, check=False)


def serve(cfg: dict) -> None:
    """OVOC's HTTPS after the restart: the imported certificate, for a bounded time."""
    import socket
    import ssl

    state = Path(cfg["state_dir"])
    time.sleep(float(cfg.get("restart_delay", 0)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(state / "served.pem", state / "served.key")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(cfg["https_port"])))
    srv.listen(5)
    srv.settimeout(0.5)
    deadline = time.monotonic() + float(cfg.get("https_lifetime", 60))
    while time.monotonic() < deadline:
        try:
            conn, _ = srv.accept()
        except OSError:
            continue
        try:
            conn.settimeout(2)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nOVOC"
                )
        except (OSError, ssl.SSLError):
            conn.close()
    srv.close()


def main() -> None:
    if sys.argv[1] == "--serve":
        serve(json.loads(Path(sys.argv[2]).read_text()))
        return
    cfg = json.loads(Path(sys.argv[1]).read_text())
    command = os.environ.get("SSH_ORIGINAL_COMMAND")
    if command:
        # scp -t, sftp-server, mkdir, mv ...: what a real account's shell would run.
        os.execv("/bin/sh", ["sh", "-c", command])
    with contextlib.suppress(EOFError):
        Sim(cfg).shell()


if __name__ == "__main__":
    main()
