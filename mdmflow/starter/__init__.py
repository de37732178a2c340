"""Start MDM workflows on many enrollment IDs with NanoCMD's semantics; used by the bridge's API,
event subscriptions and the command line."""
