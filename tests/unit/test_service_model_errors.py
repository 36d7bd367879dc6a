from __future__ import annotations

from pathlib import Path

import pytest

from cmdb.service_model import ModelFileError, load_model, parse_csv, parse_yaml


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cis: [", "m.yaml:1: invalid YAML"),
        ("cis:\n  - {class: Toaster, name: t}\n",
         "m.yaml:2: unknown or missing class 'Toaster'"),
        ("cis:\n  - class: Server\n    name: ''\n", "m.yaml:2: `name` must be"),
        ("cis:\n  - {class: Server, name: a}\nrelationships:\n"
         "  - {from: Server/a, type: RUNS_ON, to: Server/b}\n",
         "m.yaml:4: `to` must name a CI of this file as Class/name, got 'Server/b'"),
        ("cis:\n  - {class: Server, name: a}\n  - {class: Server, name: b}\nrelationships:\n"
         "  - {from: Server/a, type: LIKES, to: Server/b}\n",
         "m.yaml:5: unknown relationship type 'LIKES'"),
        ("cis:\n  - {class: Server, name: a, colour: red}\n", "m.yaml:2: unknown key 'colour'"),
        ("cis:\n  - {class: Server, name: a, identity: {shoe_size: 9}}\n",
         "m.yaml:2: unknown identity field 'shoe_size'"),
        ("servers: []\n", "m.yaml:1: unknown top-level key 'servers'"),
    ],
)
def test_yaml_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_yaml(text, "m.yaml")
    assert str(caught.value).startswith(message)


def test_csv_rows_become_assets_with_identity() -> None:
    model = parse_csv("class,name,serial,mac,location\n"
                      "Printer,prn-3f,CNB1234567,00:1b:a9:01:02:03;00:1b:a9:01:02:04,HQ 3F\n")
    [ci] = model.cis
    assert ci.identity == {"serial": "CNB1234567",
                           "macs": ["00:1b:a9:01:02:03", "00:1b:a9:01:02:04"]}
    assert ci.attributes["location"] == "HQ 3F"


def test_csv_errors_name_the_line() -> None:
    with pytest.raises(ModelFileError, match=r"^a.csv:3: unknown or missing class 'Fridge'"):
        parse_csv("class,name\nServer,a\nFridge,b\n", "a.csv")
    with pytest.raises(ModelFileError, match="header must have"):
        parse_csv("kind,label\n", "a.csv")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "none.yaml")
