"""The edges: the WebSocket, the SSE API and the pages. They parse, authorize, call the answer
engine through its door (``chat.answers``) and format what it gives back."""
