import asyncio
import time

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in

CONTINUATION = ["and ", "the ", "rest."]


async def test_a_killed_process_leaves_the_answer_interrupted_with_its_text_and_continue_ends_it(
    tmp_path,
):
    script = Script(word_count=800, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script, Script(tokens=CONTINUATION))
        env = server_env(
            tmp_path, fake.openai_base_url, HEARTBEAT_INTERVAL_S="0.2", HEARTBEAT_STALE_AFTER_S="1"
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            await tab.send(
                {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
            )
            message = (await tab.until("message.start"))["message"]
            held_at: list[tuple[float, int]] = []
            started = time.monotonic()
            while time.monotonic() - started < 1.5:
                await tab.receive()
                held_at.append((time.monotonic(), len(tab.text.get(message, ""))))
            killed_at = time.monotonic()
            first.kill()
            # What the user saw a checkpoint interval (500 ms) before the crash must survive.
            must_keep = max(n for t, n in held_at if t <= killed_at - 0.5)

            second.start()
            await asyncio.sleep(1.2)  # past HEARTBEAT_STALE_AFTER_S
            tab = await Tab.open(second.ws, session)
            await tab.send({"type": "resume", "message": message, "offset": 0})
            end = await tab.until("message.end")
            assert end["status"] == "interrupted"
            assert end["error"]
            kept = tab.text[message]
            assert len(kept) >= must_keep > 0
            assert script.answer_text().startswith(kept)

            await tab.send({"type": "continue", "message": message})
            end = await tab.until("message.end")
            await tab.close()
            assert end["status"] == "complete"
            assert tab.text[message] == kept + "".join(CONTINUATION)
            assert fake.requests[-1].body["messages"][-1] == {"role": "assistant", "content": kept}
        finally:
            first.kill()
            second.stop()
