#!/usr/bin/env bash
# System tools the tests use for real: openssl (req, x509, pkcs12, verify, s_client), Java's
# keytool, an OpenSSH server for the OVOC tests, Xvfb for screenshots. Debian/Ubuntu, as root
# (or with sudo). Installs only what is missing, so a second run costs nothing.
set -euo pipefail

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v keytool >/dev/null || need+=(default-jre-headless)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
# The OVOC console simulator runs under the system python3 as a throwaway user (useradd).
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
command -v useradd >/dev/null || [ -x /usr/sbin/useradd ] || need+=(passwd)
command -v Xvfb >/dev/null || need+=(xvfb xauth)
# ACME: Let's Encrypt's test CA and its mock DNS (pebble, pebble-challtestsrv); a real BIND for
# RFC 2136 dynamic updates with TSIG, and dig/nsupdate/tsig-keygen beside it.
command -v pebble >/dev/null || need+=(pebble)
command -v named >/dev/null || [ -x /usr/sbin/named ] || need+=(bind9)
command -v tsig-keygen >/dev/null || [ -x /usr/sbin/tsig-keygen ] || need+=(bind9-utils)
command -v dig >/dev/null || need+=(bind9-dnsutils)
# Qt's offscreen and xcb platforms need these shared libraries on a minimal machine.
for lib in libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 \
           libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libglib2.0-0; do
    dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
