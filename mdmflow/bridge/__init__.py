"""The HTTP service: the MDM server's webhook in, Temporal signals out, and NanoCMD's /v1 API."""
