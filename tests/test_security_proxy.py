"""Finding 1 of issue 12: no proxy, from the environment or elsewhere, unpins a device.

A hostile CONNECT proxy on 127.0.0.1 tunnels every connection to a second simulated device
(another certificate, the same password: the man in the middle). The real device is pinned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from app.mediant import pins
from app.mediant.client import MediantClient, _PinnedAdapter
from app.mediant.deploy import DeviceTarget, deploy_device
from app.mediant.errors import DeviceUntrusted
from app.tls_probe import fetch_served_chain
from tests.fakes.connect_proxy import ConnectProxy
from tests.fakes.mediant_material import FAST, make_material
from tests.fakes.mediant_sim import MediantSim
from tests.fakes.tls_listeners import TlsListener, issue
from tests.pki import TestCA

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_bypass(monkeypatch: pytest.MonkeyPatch) -> None:
    # 127.0.0.1 must not be exempted by a NO_PROXY of the machine running the tests.
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("variable", PROXY_VARIABLES)
def test_proxy_from_the_environment_never_sees_device_traffic(
    variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_ca: TestCA
) -> None:
    material = make_material(test_ca, tmp_path / "m")
    with MediantSim() as device, MediantSim(password="Admin-pass-1") as attacker:
        assert device.password == attacker.password
        with ConnectProxy(("127.0.0.1", attacker.port)) as proxy:
            monkeypatch.setenv(variable, proxy.url)
            # Without our fix requests would also take REQUESTS_CA_BUNDLE from here.
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nothing.pem"))
            fp = fetch_served_chain("127.0.0.1", device.port).leaf_sha256
            pins.set_pin("127.0.0.1", device.port, fp)
            target = DeviceTarget(
                "127.0.0.1", device.port, device.user, device.password, (1,),
                (device.context_port(1),),
            )  # fmt: skip
            result = deploy_device(target, material, tmp_path / "b", timing=FAST)
            assert result.ok, result.message
            assert ("PUT", "/files/tls/1/privateKey") in device.calls
            assert proxy.connections == 0 and bytes(proxy.received) == b""
            assert attacker.calls == []


def test_trust_system_ignores_a_ca_bundle_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_ca: TestCA
) -> None:
    """REQUESTS_CA_BUNDLE naming the attacker's CA must not make a server trusted: the
    system store decides. (Before the fix the handshake succeeded and credentials followed.)"""
    bundle = tmp_path / "attacker-ca.pem"
    bundle.write_bytes(test_ca.root_pem + test_ca.inter_pem)
    cert, key = issue(test_ca, "localhost", days_left=30)
    with TlsListener(cert + test_ca.inter_pem, key, tmp_path / "tls") as server:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.setenv(name, str(bundle))
        client = MediantClient("localhost", server.port, user="Admin", password="Admin-pass-1",
                               trust_system=True, timing=FAST)  # fmt: skip
        with pytest.raises(DeviceUntrusted) as caught:
            client.identify()
        client.close()
        assert "localhost" in caught.value.subject


def test_trust_system_does_not_add_certifi_beside_the_system_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_ca: TestCA
) -> None:
    """requests hands certifi's bundle to every verified connection; a root there that the
    system store lacks (here the test CA stands in for one) must not make a device trusted."""
    bundle = tmp_path / "certifi-stand-in.pem"
    bundle.write_bytes(test_ca.root_pem + test_ca.inter_pem)
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(bundle))
    cert, key = issue(test_ca, "localhost", days_left=30)
    with TlsListener(cert + test_ca.inter_pem, key, tmp_path / "tls") as server:
        client = MediantClient("localhost", server.port, user="Admin", password="Admin-pass-1",
                               trust_system=True, timing=FAST)  # fmt: skip
        with pytest.raises(DeviceUntrusted):
            client.identify()
        client.close()


def test_pin_holds_through_an_explicit_proxy_tunnel(test_ca: TestCA) -> None:
    """Should any proxy be used (a future per-site setting), the pin is checked end to end:
    the tunnel to another certificate fails before a byte of HTTP is sent."""
    with MediantSim() as device, MediantSim() as attacker:
        fp = fetch_served_chain("127.0.0.1", device.port).leaf_sha256
        with ConnectProxy(("127.0.0.1", attacker.port)) as proxy:
            session = requests.Session()
            session.trust_env = False
            session.mount("https://", _PinnedAdapter(fp))
            session.auth = (device.user, device.password)
            with pytest.raises(requests.exceptions.SSLError):
                session.get(
                    f"https://127.0.0.1:{device.port}/api/v1/status",
                    proxies={"https": proxy.url},
                    verify=False,
                    timeout=5,
                )
            session.close()
            assert proxy.connections >= 1
            assert b"Authorization" not in bytes(proxy.received)
            assert attacker.calls == []
        # The same adapter through the same kind of tunnel to the real device works.
        with ConnectProxy(("127.0.0.1", device.port)) as honest:
            session = requests.Session()
            session.trust_env = False
            session.mount("https://", _PinnedAdapter(fp))
            session.auth = (device.user, device.password)
            answer = session.get(
                f"https://127.0.0.1:{device.port}/api/v1/status",
                proxies={"https": honest.url},
                verify=False,
                timeout=5,
            )
            session.close()
            assert answer.status_code == 200 and honest.connections >= 1
