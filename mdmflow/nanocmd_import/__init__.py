"""Bring a NanoCMD deployment's stored data into mdmflow (``mdmflow import nanocmd``)."""
