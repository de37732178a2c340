"""The Apple MDM protocol as pure code: commands, reports, check-ins and webhook bodies."""
