#!/usr/bin/env bash
# Debian packages the integration tests run for real: net-snmp's agent and tools,
# and Prometheus. Installs only what is missing; needs root (or sudo).
set -euo pipefail
wanted=(snmpd snmp prometheus shellcheck iproute2 openssl)
missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing ${missing[*]}"
$sudo apt-get update -qq
# Package scripts must not start the daemons: the tests run their own on 127.0.0.1.
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
$sudo rm -f /usr/sbin/policy-rc.d
