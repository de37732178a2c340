"""Every side effect a workflow needs: MDM enqueue and push, route records, stored payloads."""
