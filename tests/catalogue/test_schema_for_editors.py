"""The JSON Schema of definitions, as an editor uses it: on its own, without the loader.

The loader validates with the same schema and then checks what a schema cannot (unique
ids, conditions naming real fields …); an editor (VS Code's YAML extension, JetBrains)
only has the schema, named by the file's `yaml-language-server` modeline."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from madoguchi.catalogue.validation import SCHEMA_PATH, schema

SAMPLES = sorted((Path(__file__).parents[2] / "src/madoguchi/sample/catalogue").glob("*/*.yaml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())


def test_there_are_sample_definitions():
    assert len(SAMPLES) >= 5


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_sample_names_the_schema_and_validates_against_it_alone(path):
    text = path.read_text(encoding="utf-8")
    modeline = MODELINE.search(text)
    assert modeline, f"{path.name} has no yaml-language-server modeline"
    assert (path.parent / modeline.group(1)).resolve() == SCHEMA_PATH.resolve()
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(yaml.safe_load(text)))
    assert errors == []


def test_the_schema_alone_refuses_what_an_editor_should_underline():
    validator = jsonschema.Draft202012Validator(schema())
    data = yaml.safe_load(SAMPLES[0].read_text(encoding="utf-8"))
    data["processing_days"] = "ten"
    data["unknown_key"] = 1
    messages = [error.message for error in validator.iter_errors(data)]
    assert any("'ten' is not of type" in m for m in messages), messages
    assert any("unknown_key" in m for m in messages), messages
