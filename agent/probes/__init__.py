"""Host probes: small readers that turn a host source into typed metric samples.

Each probe takes what it reads as constructor arguments — a `HostSource` (the psutil
facade), a `Clock`, a root path for `/proc` and `/sys` — and nothing registers itself at
import time; `agent.probes.collector.default_probes` builds the standard set explicitly.
"""
