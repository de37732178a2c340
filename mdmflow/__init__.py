"""mdmflow: durable Apple MDM command workflows on Temporal, compatible with NanoCMD."""

__version__ = "0.1.0"
