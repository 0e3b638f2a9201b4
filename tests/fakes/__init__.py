"""Protocol-faithful fakes of the services the chat talks to, served over real loopback HTTP."""
