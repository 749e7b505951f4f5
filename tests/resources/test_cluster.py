import os
import signal

import boto3
import pytest

from resources.cluster import ClusterResource


def _instances(endpoint: str, count: int) -> list[str]:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(
        ImageId=image, MinCount=count, MaxCount=count, InstanceType="m5.xlarge"
    )
    ids = [i["InstanceId"] for i in made["Instances"]]
    ec2.stop_instances(InstanceIds=ids)
    return ids


def _states(cluster: ClusterResource) -> set[str]:
    return {node.state for node in cluster.describe()}


def _cluster(endpoint: str, ids: list[str]) -> ClusterResource:
    return ClusterResource(
        instance_ids=ids, region="us-east-1", endpoint_url=endpoint, poll_seconds=1
    )


def test_instances_run_inside_the_block_and_stop_after(moto_endpoint: str) -> None:
    cluster = _cluster(moto_endpoint, _instances(moto_endpoint, 3))
    assert _states(cluster) == {"stopped"}
    with cluster.running() as nodes:
        assert len(nodes) == 3
        assert {n.state for n in nodes} == {"running"}
        assert all(n.private_ip for n in nodes)
    assert _states(cluster) == {"stopped"}


def test_instances_are_stopped_when_the_body_raises(moto_endpoint: str) -> None:
    cluster = _cluster(moto_endpoint, _instances(moto_endpoint, 2))
    with pytest.raises(RuntimeError, match="stage 1 failed"):
        with cluster.running():
            assert _states(cluster) == {"running"}
            raise RuntimeError("stage 1 failed")
    assert _states(cluster) == {"stopped"}


def test_instances_are_stopped_when_the_run_is_interrupted(moto_endpoint: str) -> None:
    from dagster._core.errors import DagsterExecutionInterruptedError

    cluster = _cluster(moto_endpoint, _instances(moto_endpoint, 1))
    with pytest.raises(DagsterExecutionInterruptedError):
        with cluster.running():
            raise DagsterExecutionInterruptedError("run terminated by operator")
    assert _states(cluster) == {"stopped"}


class Terminated(Exception):
    """What the run's interrupt handler raises (Dagster raises its own interrupt error)."""


def test_a_second_terminate_during_the_stop_does_not_leave_instances_running(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = _cluster(moto_endpoint, _instances(moto_endpoint, 2))

    def interrupt(signo: int, frame: object) -> None:
        raise Terminated(signo)

    # The operator clicks terminate again just as the StopInstances request is about to go out:
    # botocore's before-call event of that API call, on the session the resource's client uses.
    session = boto3.session.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    second_terminates: list[str] = []

    def terminate_again(**kwargs: object) -> None:
        second_terminates.append("StopInstances")
        os.kill(os.getpid(), signal.SIGINT)

    session.events.register("before-call.ec2.StopInstances", terminate_again)
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        with pytest.raises(Terminated):
            with cluster.running():
                assert _states(cluster) == {"running"}
                os.kill(os.getpid(), signal.SIGINT)  # the first terminate
    finally:
        signal.signal(signal.SIGINT, previous)
    assert second_terminates == ["StopInstances"]
    assert _states(cluster) == {"stopped"}


def test_no_instances_configured_is_a_no_op() -> None:
    with ClusterResource().running() as nodes:
        assert nodes == []
