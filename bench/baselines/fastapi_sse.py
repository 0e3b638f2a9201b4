"""The baseline: how most tutorials stream an LLM answer.

A FastAPI endpoint on uvicorn awaits the OpenAI SDK's stream and yields one Server-Sent Event per
token (``data: <token>``), then ``data: [DONE]``. Nothing is stored. Written from that description
on purpose, warts included: a token holding a newline breaks its ``data:`` line, and the SDK
parses every chunk into model objects.

    OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=x \
        uvicorn bench.baselines.fastapi_sse:app --port 8001
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI
from pydantic import BaseModel

app = FastAPI()
client = AsyncOpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL") or None,
    api_key=os.environ.get("OPENAI_API_KEY", "none"),
)


class ChatIn(BaseModel):
    message: str
    model: str = "gpt-4o-mini"


@app.post("/chat")
async def chat(body: ChatIn) -> StreamingResponse:
    async def tokens():
        stream = await client.chat.completions.create(
            model=body.model,
            messages=[{"role": "user", "content": body.message}],
            stream=True,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield f"data: {chunk.choices[0].delta.content}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(tokens(), media_type="text/event-stream")
