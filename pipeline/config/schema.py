"""The JSON Schema of pipeline.yaml, generated from the config model (never written by hand)."""

from __future__ import annotations

import json

from pipeline.config.model import PipelineConfig

SCHEMA_ID = "https://slipway.dev/schema/pipeline.schema.json"


def schema_text() -> str:
    schema = PipelineConfig.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
