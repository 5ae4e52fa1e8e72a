"""docqueue's images as testcontainers containers, with the restrictions the chart gives them
(uid 10001, read-only root filesystem with a /tmp tmpfs, no capabilities, no privilege
escalation), on a network of the test's own, ports published on 127.0.0.1 only."""

from collections.abc import Mapping, Sequence
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from tests.e2e.engine import Engine

# The chart's securityContext and volumes, in the Docker API's words.
RESTRICTED: dict[str, Any] = {
    "user": "10001:10001",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}


class Container(DockerContainer):
    def __init__(
        self,
        engine: Engine,
        image: str,
        network: Network,
        alias: str,
        env: Mapping[str, str] = {},
        command: Sequence[str] = (),
        publish: Sequence[int] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(image, docker_client_kw=engine.client_kw)
        self.with_network(network).with_network_aliases(alias).with_envs(**env)
        self.with_kwargs(**RESTRICTED, **kwargs)
        self.tmpfs["/tmp"] = "rw,size=256m,mode=1777"
        if command:
            self.with_command(list(command))
        for port in publish:
            # A (host address, host port) pair is what the Docker API takes for a loopback-only
            # binding; testcontainers' with_bind_ports takes the port alone.
            self.ports[f"{port}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]

    @property
    def network(self) -> Network:
        assert self._network is not None, "started without a network"
        return self._network

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{self.get_exposed_port(port)}"

    def run(self, *command: str) -> tuple[int, str, str]:
        """A command inside the running container: exit code, stdout, stderr."""
        code, (out, err) = self.get_wrapped_container().exec_run(list(command), demux=True)
        return code, (out or b"").decode(), (err or b"").decode()

    def logs(self) -> str:
        out, err = self.get_logs()
        return (out + err).decode(errors="replace")

    def state(self) -> dict[str, Any]:
        wrapped = self.get_wrapped_container()
        wrapped.reload()
        state: dict[str, Any] = wrapped.attrs["State"]
        return state

    def running(self) -> bool:
        return bool(self.state()["Running"])

    def graceful_stop(self, timeout_s: int) -> int:
        """SIGTERM (as the kubelet sends), SIGKILL after `timeout_s`; returns the exit code."""
        self.get_wrapped_container().stop(timeout=timeout_s)
        return int(self.state()["ExitCode"])
