"""The ``mdmflow`` command line and the local all-in-one launcher (``mdmflow dev``).

Above everything else: it may import every room, and nothing imports it.
"""
