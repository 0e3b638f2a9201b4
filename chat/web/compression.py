"""permessage-deflate (RFC 7692) for our WebSockets: which of a client's offers the server
accepts, and with what.

An answer streams as many small delta frames of JSON around a few characters of text; alone each
compresses to nothing much, but with context takeover (one deflate stream per socket and
direction, kept across messages) a frame's keys and most of its values are back-references to
the frame before. That takes a long answer from about 7.5 bytes on the wire per byte of text to
about 1.7, and further when a busy server merges more text into each frame (docs/benchmarks.md).

The price is memory per socket, kept for as long as the socket is open from the first frame it is
sent (a socket never sent a frame costs next to nothing more): zlib's compressor allocates
``4 << window_bits`` bytes for its window and ``1 << (mem_level + 9)`` for its hash table and
output buffer. At zlib's defaults (15 and 8) a compressor grows the process's resident memory by
about 90 KiB once it has compressed a frame; with the bounds below by about 19 KiB, for frames 2%
larger. With the decompressor (below), a socket that has been sent a frame holds about 22 KiB
more compressed than uncompressed (bench/idle.py, docs/benchmarks.md). The window is the
server's own choice (a smaller window than the client allows needs no telling), and 4 KiB holds
the last few dozen frames, which is what delta frames refer back to; a smaller memory level
only shortens the hash table, which frames this small never fill.

In the other direction a client sends a few small frames a minute: it is asked for a 1 KiB
window, so that the decompressor autobahn keeps for a socket from its first frame on stays
small (about 8 KiB) however long a message the user sends.
"""

from __future__ import annotations

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
                request_max_window_bits=CLIENT_WINDOW_BITS if offer.accept_max_window_bits else 0,
                window_bits=window,
                mem_level=MEM_LEVEL,
            )
    return None
