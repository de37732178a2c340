"""Encryption of secrets: the key ring, the Temporal payload codec and sealed values at rest."""
