"""Pure decoders: a `Snapshot` in, typed device facts and samples out.

Nothing here does I/O; each module is tested on recordings in `tests/data/snmp/`.
"""
