"""EC2 instances of the Spark cluster: start, wait until running and healthy, always stop."""

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import dagster as dg
from pydantic import Field

logger = logging.getLogger(__name__)
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the block runs, then deliver the first one that came.

    Terminating a Dagster run interrupts the step (SIGINT, SIGTERM mapped to it); an operator who
    clicks terminate twice would otherwise interrupt the stop of the instances as well and leave
    them running. Signals can only be handled on the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in HELD_SIGNALS}
    for sig in HELD_SIGNALS:
        signal.signal(sig, lambda signo, _frame: received.append(signo))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])


@dataclass(frozen=True)
class ClusterNode:
    """One running instance of the cluster."""

    instance_id: str
    private_ip: str | None
    state: str


class ClusterResource(dg.ConfigurableResource):
    """Start the configured instances for the duration of a `with cluster.running():` block.

    With no instance ids configured (the local default) the block runs without touching EC2.
    """

    instance_ids: list[str] = Field(default_factory=list)
    region: str = "ap-northeast-2"
    endpoint_url: str | None = None
    poll_seconds: float = Field(default=15.0, description="Waiter polling interval")
    max_wait_seconds: float = Field(default=900.0, description="Give up starting after this long")
    wait_for_status_ok: bool = Field(default=True, description="Also wait for EC2 status checks")

    @property
    def enabled(self) -> bool:
        """True when instances are configured."""
        return bool(self.instance_ids)

    def client(self) -> Any:
        """boto3 EC2 client."""
        return boto3.client("ec2", region_name=self.region, endpoint_url=self.endpoint_url)

    def _waiter_config(self) -> dict[str, int]:
        delay = max(1, round(self.poll_seconds))
        return {"Delay": delay, "MaxAttempts": max(1, int(self.max_wait_seconds // delay))}

    def describe(self) -> list[ClusterNode]:
        """Current state of every configured instance."""
        if not self.enabled:
            return []
        response = self.client().describe_instances(InstanceIds=self.instance_ids)
        return [
            ClusterNode(i["InstanceId"], i.get("PrivateIpAddress"), i["State"]["Name"])
            for reservation in response["Reservations"]
            for i in reservation["Instances"]
        ]

    @contextmanager
    def running(self, log: logging.Logger | Any | None = None) -> Iterator[list[ClusterNode]]:
        """Start the instances, wait until they run and pass status checks, and stop them on exit.

        The instances are stopped whatever happens inside the block: success, an exception, or an
        interruption of the run (Dagster raises an interrupt exception into the step).
        """
        log = log or logger
        if not self.enabled:
            log.info("cluster: no instances configured; running without EC2")
            yield []
            return
        ec2 = self.client()
        ids = list(self.instance_ids)
        try:
            log.info(f"cluster: starting {len(ids)} instance(s): {', '.join(ids)}")
            ec2.start_instances(InstanceIds=ids)
            ec2.get_waiter("instance_running").wait(
                InstanceIds=ids, WaiterConfig=self._waiter_config()
            )
            if self.wait_for_status_ok:
                ec2.get_waiter("instance_status_ok").wait(
                    InstanceIds=ids, WaiterConfig=self._waiter_config()
                )
            nodes = self.describe()
            log.info(
                f"cluster: running ({', '.join(f'{n.instance_id}={n.private_ip}' for n in nodes)})"
            )
            yield nodes
        finally:
            with interrupts_held():  # a second terminate must not skip the stop
                log.info(f"cluster: stopping {len(ids)} instance(s)")
                ec2.stop_instances(InstanceIds=ids)
                ec2.get_waiter("instance_stopped").wait(
                    InstanceIds=ids, WaiterConfig=self._waiter_config()
                )
                log.info("cluster: stopped")
