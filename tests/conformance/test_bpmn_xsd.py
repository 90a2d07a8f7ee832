"""The BPMN files miner writes and ships are valid BPMN 2.0: validated against the OMG XSDs
(BPMN20.xsd with Semantic.xsd, BPMNDI.xsd, DI.xsd and DC.xsd, as the SpiffWorkflow package ships
them unchanged), which is what bpmn.io and Camunda Modeler expect."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from miner.cli import main
from miner.conformance.discover import BPMN_NS
from miner.conformance.swimlane import reference_path
from tests.conftest import reallog


@cache
def bpmn_schema() -> etree.XMLSchema:
    spec = importlib.util.find_spec("SpiffWorkflow")
    assert spec is not None and spec.submodule_search_locations, "spiffworkflow is a test extra"
    folder = Path(next(iter(spec.submodule_search_locations))) / "bpmn" / "parser" / "schema"
    return etree.XMLSchema(etree.parse(str(folder / "BPMN20.xsd")))


def assert_valid(path: Path) -> etree._ElementTree:
    document = etree.parse(str(path))
    schema = bpmn_schema()
    if not schema.validate(document):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:10])
        pytest.fail(f"{path.name} is not valid BPMN 2.0:\n{errors}")
    return document


def test_the_shipped_reference_model_is_valid_bpmn() -> None:
    document = assert_valid(reference_path())
    ns = {"b": BPMN_NS}
    assert len(document.findall(".//b:task", ns)) >= 56
    assert document.findall(".//b:laneSet/b:lane", ns)


@pytest.mark.parametrize("algorithm", ["inductive", "heuristics"])
def test_a_discovered_bpmn_with_lanes_is_valid_bpmn(algorithm: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "receipt.bpmn"
    assert main(["discover", str(reallog("receipt.xes")), "--algorithm", algorithm,
                 "--out", str(out)]) == 0
    capsys.readouterr()
    document = assert_valid(out)
    lanes = document.findall(f".//{{{BPMN_NS}}}laneSet/{{{BPMN_NS}}}lane")
    assert len(lanes) >= 2  # receipt.xes names its org:group: the lanes are there and valid


def test_the_schema_rejects_a_broken_bpmn(tmp_path: Path) -> None:
    """The validation has teeth: a lane outside its laneSet and a task without an id fail."""
    document = etree.parse(str(reference_path()))
    process = document.find(f".//{{{BPMN_NS}}}process")
    assert process is not None
    etree.SubElement(process, f"{{{BPMN_NS}}}lane", name="stray")
    broken = tmp_path / "broken.bpmn"
    document.write(str(broken))
    assert not bpmn_schema().validate(etree.parse(str(broken)))
