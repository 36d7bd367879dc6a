"""The SNMP targets file: which devices to poll, with which credentials, and which
credentials traps may use (see etc/snmp.example.yaml).

Credentials are named entries that point at their secrets (an environment variable
or a file, e.g. a mounted Kubernetes secret); the file itself never holds a secret,
so it can be committed, printed and written back by `opsgraph discover`. A device
takes its own credentials entry, else that of the most specific subnet it is in.
Secrets are read only by `resolve_credentials`, from the mapping it is handed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from collector.snmp.credentials import (
    AuthProtocol,
    CommunityCredentials,
    Credentials,
    PrivProtocol,
    UsmCredentials,
)
from collector.snmp.ingest import DeviceRef
from collector.snmp.session import Target

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class TargetsFileError(ValueError):
    """A targets file that cannot be used; `str()` is one line naming the file and key."""


class CredentialSpec(BaseModel):
    """A v2c community or a v3 USM user, by reference to where its secrets live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal["2c", "3"]
    community_env: EnvName | None = None
    community_file: Path | None = None
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key_env: EnvName | None = None
    auth_key_file: Path | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key_env: EnvName | None = None
    priv_key_file: Path | None = None
    # The authoritative engine id of a device that sends v3 traps with this user.
    engine_id: Annotated[str, Field(pattern=r"^(0x)?[0-9A-Fa-f]{10,64}$")] | None = None

    @model_validator(mode="after")
    def _complete(self) -> CredentialSpec:
        if self.version == "2c":
            if (self.community_env is None) == (self.community_file is None):
                raise ValueError("a v2c entry needs one of community_env, community_file")
            return self
        if not self.user or self.auth_protocol is None:
            raise ValueError("a v3 entry needs user and auth_protocol")
        if (self.auth_key_env is None) == (self.auth_key_file is None):
            raise ValueError("a v3 entry needs one of auth_key_env, auth_key_file")
        has_priv_key = self.priv_key_env is not None or self.priv_key_file is not None
        if has_priv_key != (self.priv_protocol is not None):
            raise ValueError("priv_protocol and a priv_key_env/priv_key_file go together")
        return self


class TargetDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(default=161, ge=1, le=65535)
    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=1000)
    bulk_varbinds: int = Field(default=48, ge=1, le=1000)
    deadline: float = Field(default=120.0, gt=0)


class SubnetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cidr: str
    credentials: Name

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)


class TargetEntry(BaseModel):
    """One device to poll. `kind`, `sys_name`, `serial` and `macs` are what discovery
    found; they let an unanswering device be bound to its CI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    credentials: Name | None = None
    kind: str | None = None
    sys_name: str = ""
    serial: str = ""
    macs: tuple[str, ...] = ()

    def key(self, default_port: int) -> tuple[str, int]:
        return self.address, self.port or default_port


class TrapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials: list[Name] = Field(default_factory=list)


class TargetsFile(BaseModel):
    """The whole file; validated as a unit before anything uses it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: TargetDefaults = Field(default_factory=TargetDefaults)
    credentials: dict[Name, CredentialSpec] = Field(default_factory=dict)
    subnets: list[SubnetEntry] = Field(default_factory=list)
    targets: list[TargetEntry] = Field(default_factory=list)
    traps: TrapSettings = Field(default_factory=TrapSettings)

    @model_validator(mode="after")
    def _references(self) -> TargetsFile:
        for subnet in self.subnets:
            subnet.network  # noqa: B018 (validates the CIDR)
        named = [s.credentials for s in self.subnets] + self.traps.credentials + [
            t.credentials for t in self.targets if t.credentials]
        unknown = sorted(set(named) - set(self.credentials))
        if unknown:
            raise ValueError(f"credentials {unknown[0]!r} are not defined under `credentials`")
        return self

    def credentials_name(self, address: str) -> str | None:
        """The credentials a device at `address` without its own entry uses: the
        most specific subnet's."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        matching = [s for s in self.subnets if ip in s.network]
        if not matching:
            return None
        return max(matching, key=lambda s: s.network.prefixlen).credentials

    def target(self, entry: TargetEntry, secrets: Mapping[str, Credentials]) -> Target:
        name = entry.credentials or self.credentials_name(entry.address)
        if name is None or name not in secrets:
            raise TargetsFileError(f"no credentials for {entry.address}: give the target "
                                   "`credentials:` or list its subnet under `subnets:`")
        d = self.defaults
        return Target(entry.address, secrets[name], port=entry.port or d.port,
                      timeout=d.timeout, retries=d.retries, max_repetitions=d.max_repetitions,
                      bulk_varbinds=d.bulk_varbinds, deadline=d.deadline)

    def device_refs(self) -> dict[tuple[str, int], DeviceRef]:
        return {entry.key(self.defaults.port): ref(entry) for entry in self.targets}

    def with_targets(self, found: Iterable[TargetEntry]) -> TargetsFile:
        """This file with `found` added, replacing entries for the same address:port."""
        merged = {t.key(self.defaults.port): t for t in self.targets}
        for entry in found:
            merged[entry.key(self.defaults.port)] = entry
        ordered = sorted(merged.values(), key=lambda t: (_sort_key(t.address), t.port or 0))
        return self.model_copy(update={"targets": ordered})


def ref(entry: TargetEntry) -> DeviceRef:
    return DeviceRef(entry.address, entry.sys_name, entry.serial, entry.macs)


def _sort_key(address: str) -> tuple[int, int | str]:
    try:
        return 0, int(ipaddress.ip_address(address))
    except ValueError:
        return 1, address


def load_targets(path: Path) -> TargetsFile:
    """The targets file at `path`; `TargetsFileError` names the first problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TargetsFileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TargetsFileError(f"{path}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "file"
        raise TargetsFileError(f"{path}: {where}: {error['msg']}") from None


def save_targets(targets: TargetsFile, path: Path) -> None:
    """Write `targets` (no secrets are in it) atomically."""
    data = targets.model_dump(mode="json", exclude_defaults=True)
    text = "# opsgraph SNMP targets (written by `opsgraph discover`)\n" + yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def resolve_credentials(
    specs: Mapping[str, CredentialSpec], environ: Mapping[str, str]
) -> dict[str, Credentials]:
    """Each entry with its secrets read from `environ` or its files. The error names
    the variable or file that is missing, never a secret."""
    resolved: dict[str, Credentials] = {}
    for name, spec in specs.items():
        def secret(env: str | None, file: Path | None, what: str, name: str = name) -> str:
            if env is not None:
                value = environ.get(env)
                if not value:
                    raise TargetsFileError(f"credentials {name!r}: {what} variable {env} "
                                           "is not set")
                return value
            assert file is not None
            try:
                return file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise TargetsFileError(f"credentials {name!r}: cannot read {what} file "
                                       f"{file}: {exc.strerror}") from None

        try:
            if spec.version == "2c":
                resolved[name] = CommunityCredentials(
                    secret(spec.community_env, spec.community_file, "community"))
            else:
                assert spec.user is not None
                assert spec.auth_protocol is not None
                priv = (secret(spec.priv_key_env, spec.priv_key_file, "privacy key")
                        if spec.priv_protocol else None)
                resolved[name] = UsmCredentials(
                    spec.user, spec.auth_protocol,
                    secret(spec.auth_key_env, spec.auth_key_file, "auth key"),
                    spec.priv_protocol, priv)
        except ValueError as exc:
            if isinstance(exc, TargetsFileError):
                raise
            raise TargetsFileError(f"credentials {name!r}: {exc}") from None
    return resolved
