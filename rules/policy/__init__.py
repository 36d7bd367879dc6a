"""Pure policy pieces the evaluation core consults: where an incident goes
(`routing`), how urgent it is (`priority`), how long it may take (`sla`, counted in
`business_hours` or round the clock), and when it must stay quiet (`maintenance`).
`config` loads the policy file; `document` is the YAML reader both files share.

Nothing here does I/O except the `load_*` functions reading their YAML file, and
nothing reads a clock: the current time is always an argument.
"""
