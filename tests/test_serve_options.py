"""`vidpipe api` serves with uvloop and httptools, with one worker or several.

On plain asyncio, uvicorn's workers never set TCP_NODELAY on their inherited socket (uvicorn
#3149), so every keep-alive answer waited ~40 ms with --workers 2; uvloop sets it on every
accepted connection. Named explicitly, a missing extra fails at start-up instead of silently
falling back to asyncio + h11 (docs/benchmarks.md).
"""

from __future__ import annotations

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cli import serve


def test_server_options_name_uvloop_and_httptools():
    config = uvicorn.Config(app=lambda *args: None, **serve.SERVER_OPTIONS)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    loop = config.get_loop_factory()()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
