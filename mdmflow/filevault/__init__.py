"""FileVault escrow: the deployment's escrow identity, the enable profile, CMS decryption."""
