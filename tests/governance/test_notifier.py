"""Job notifications between processes sharing a data dir, over real Unix datagram sockets."""

import asyncio

from governance.notifier import JobNotifier, PeerBus


def test_a_job_in_one_worker_wakes_long_polls_in_another(tmp_path):
    async def scenario() -> None:
        here, there = PeerBus(tmp_path, identity=101), PeerBus(tmp_path, identity=102)
        waiting, creating = JobNotifier(here), JobNotifier(there)
        here.listen(waiting)
        there.listen(creating)
        try:
            event = waiting.register("inst_a")
            other = waiting.register("inst_b")
            creating.notify("inst_a")
            await asyncio.wait_for(event.wait(), 5)
            assert not other.is_set()
        finally:
            here.close()
            there.close()

    asyncio.run(scenario())
    assert list((tmp_path / "run").iterdir()) == []


def test_a_peer_that_is_gone_is_forgotten_and_another_hosts_left_alone(tmp_path):
    bus = PeerBus(tmp_path, identity=201)
    gone = tmp_path / "run" / f"{bus.host}-999999"  # a worker killed: no socket any more
    elsewhere = tmp_path / "run" / "another-container-7"  # sharing the volume, not the network
    gone.touch()
    elsewhere.touch()
    bus.publish("inst_a")
    assert not gone.exists() and elsewhere.exists()
    bus.close()
