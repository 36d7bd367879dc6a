"""The targets file: validation, subnet credentials, secrets by reference only."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.snmp.credentials import CommunityCredentials, UsmCredentials
from collector.snmp.targets import (
    TargetEntry,
    TargetsFile,
    TargetsFileError,
    load_targets,
    resolve_credentials,
    save_targets,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "etc" / "snmp.example.yaml"


def write(tmp_path, text):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


def test_the_example_file_is_valid_and_names_credentials_by_subnet():
    targets = load_targets(EXAMPLE)
    assert targets.credentials_name("10.20.1.15") == "office-printers"
    assert targets.credentials_name("10.0.0.9") == "netops"
    assert targets.credentials_name("192.0.2.1") is None
    refs = targets.device_refs()
    assert refs[("10.20.1.15", 161)].identity_keys()[0] == "serial:E78123A9N456789"
    assert ("10.0.0.9", 1161) in refs


def test_the_most_specific_subnet_wins(tmp_path):
    targets = TargetsFile.model_validate({
        "credentials": {"a": {"version": "2c", "community_env": "A"},
                        "b": {"version": "2c", "community_env": "B"}},
        "subnets": [{"cidr": "10.0.0.0/8", "credentials": "a"},
                    {"cidr": "10.1.2.0/24", "credentials": "b"}],
    })
    assert targets.credentials_name("10.1.2.3") == "b"
    assert targets.credentials_name("10.9.9.9") == "a"


def test_secrets_come_from_the_environment_or_a_file(tmp_path):
    key_file = tmp_path / "priv"
    key_file.write_text("priv-key-from-file\n")
    targets = TargetsFile.model_validate({"credentials": {
        "v2": {"version": "2c", "community_env": "COMMUNITY"},
        "v3": {"version": "3", "user": "ops", "auth_protocol": "SHA-256",
               "auth_key_env": "AUTH", "priv_protocol": "AES-128",
               "priv_key_file": str(key_file)},
    }})
    resolved = resolve_credentials(targets.credentials,
                                   {"COMMUNITY": "s3cret-community", "AUTH": "auth-pass-1"})
    assert resolved["v2"] == CommunityCredentials("s3cret-community")
    assert resolved["v3"] == UsmCredentials("ops", "SHA-256", "auth-pass-1", "AES-128",
                                            "priv-key-from-file")


def test_a_missing_secret_is_named_by_its_variable_never_shown(tmp_path):
    targets = TargetsFile.model_validate({"credentials": {
        "v3": {"version": "3", "user": "ops", "auth_protocol": "SHA", "auth_key_env": "AUTH"}}})
    with pytest.raises(TargetsFileError, match="AUTH is not set"):
        resolve_credentials(targets.credentials, {})
    with pytest.raises(TargetsFileError) as short:
        resolve_credentials(targets.credentials, {"AUTH": "short"})
    assert "short" not in str(short.value).replace("pass phrase must", "")


@pytest.mark.parametrize(("text", "problem"), [
    ("credentials: {a: {version: '2c', community: public}}", "community"),
    ("credentials: {a: {version: '2c'}}", "community_env"),
    ("credentials: {a: {version: '3', user: u, auth_key_env: A}}", "auth_protocol"),
    ("subnets: [{cidr: 10.0.0.0/8, credentials: nope}]", "'nope' are not defined"),
    ("targets: [{address: 10.0.0.1, port: 70000}]", "port"),
    ("subnets: [{cidr: not-a-network, credentials: a}]\n"
     "credentials: {a: {version: '2c', community_env: A}}", "does not appear"),
])
def test_problems_are_one_line_naming_the_key(tmp_path, text, problem):
    with pytest.raises(TargetsFileError, match=problem) as error:
        load_targets(write(tmp_path, text))
    assert "\n" not in str(error.value)


def test_discovered_targets_are_merged_by_endpoint_and_written_back(tmp_path):
    path = write(tmp_path, EXAMPLE.read_text())
    targets = load_targets(path).with_targets([
        TargetEntry(address="10.20.1.15", kind="printer", sys_name="BRN-NEW"),
        TargetEntry(address="10.0.0.3", port=1161, kind="network_device"),
    ])
    save_targets(targets, path)
    again = load_targets(path)
    assert [(t.address, t.port) for t in again.targets] == [
        ("10.0.0.2", None), ("10.0.0.3", 1161), ("10.0.0.9", 1161), ("10.20.1.15", None)]
    assert again.device_refs()[("10.20.1.15", 161)].sys_name == "BRN-NEW"
    assert again.credentials == load_targets(EXAMPLE).credentials
