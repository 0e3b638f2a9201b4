"""permessage-deflate (RFC 7692) for our WebSockets: which of a client's offers the server
accepts, and with what.

An answer streams as many small delta frames of JSON around a few characters of text; alone each
compresses to nothing much, but with context takeover (one deflate stream per socket and
direction, kept across messages) a frame's keys and most of its values are back-references to
the frame before. That takes a long answer from about 7.5 bytes on the wire per byte of text to
about 1.7, and further when a busy server merges more text into each frame (docs/benchmarks.md).

The price is memory per socket while it is in use: zlib's compressor allocates
``4 << window_bits`` bytes for its window and ``1 << (mem_level + 9)`` for its hash table and
output buffer. At zlib's defaults (15 and 8) a compressor grows the process's resident memory by
about 90 KiB once it has compressed a frame; with the bounds below by about 19 KiB, for frames 2%
larger. The window is the server's own choice (a smaller window than the client allows needs no
telling), and 4 KiB holds the last few dozen frames, which is what delta frames refer back to; a
smaller memory level only shortens the hash table, which frames this small never fill.

In the other direction a client sends a few small frames a minute: it is asked for a 1 KiB
window and for no context takeover (each of its messages compressed on its own), so that the
server needs a decompressor only while a message comes in: it is freed as each is read
(``release_decompressor``, from ``chat.web.server``).

Nor is a compressor kept while a socket sits idle: once no answer streams to a socket, the
consumer frees it (``release_compressor``), and autobahn makes a new one at the next frame. A fresh
compressor is always valid for the client, whose decompressor keeps its window: the new one's
back-references reach only into what it wrote itself, which is the end of that window. It costs
the first frame after an idle spell its references to the frames before it, a few dozen bytes.
"""

from __future__ import annotations

from typing import Any

from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

WINDOW_BITS = 12  # 4 KiB: the frames of about the last second of an answer
MEM_LEVEL = 3
CLIENT_WINDOW_BITS = 10  # the client's frames are a few hundred bytes of JSON


def accept(offers: list[object]) -> PerMessageDeflateOfferAccept | None:
    """The first permessage-deflate offer, accepted with our bounds; ``None`` for none."""
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            # A client may ask for a smaller window than ours; it gets the smaller one.
            window = min(WINDOW_BITS, offer.request_max_window_bits or WINDOW_BITS)
            return PerMessageDeflateOfferAccept(
                offer,
                request_no_context_takeover=offer.accept_no_context_takeover,
                request_max_window_bits=CLIENT_WINDOW_BITS if offer.accept_max_window_bits else 0,
                window_bits=window,
                mem_level=MEM_LEVEL,
            )
    return None


# autobahn's PerMessageDeflate holds its zlib objects as ``_compressor`` and ``_decompressor``
# and makes each again when it is next needed (tests/chat/test_compression_release.py checks
# that it still does).


def release_compressor(deflate: Any) -> None:
    """Free the compressor of a socket's ``deflate`` (autobahn's ``PerMessageDeflate``). Call
    it between two messages sent, never within one."""
    deflate._compressor = None


def release_decompressor(deflate: Any) -> None:
    """Free the decompressor of a socket's ``deflate`` once a message from its client is read,
    unless that client keeps its context across messages."""
    if deflate.client_no_context_takeover:
        deflate._decompressor = None
