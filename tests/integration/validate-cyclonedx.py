#!/usr/bin/env python3
"""Validates a CycloneDX 1.5 JSON document against the official schema (tests/data/cyclonedx-1.5)
with python3-jsonschema, an implementation independent of baker. Exit 0 valid, 1 invalid,
77 when jsonschema is missing."""
import json
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
schemas = os.path.join(here, "..", "data", "cyclonedx-1.5")
store = {}
for name in ("bom-1.5", "spdx", "jsf-0.82"):
    with open(os.path.join(schemas, name + ".SNAPSHOT.schema.json")) as f:
        s = json.load(f)
    store[name + ".SNAPSHOT.schema.json"] = s
    store[s["$id"]] = s
bom_schema = store["bom-1.5.SNAPSHOT.schema.json"]
resolver = jsonschema.RefResolver(base_uri="", referrer=bom_schema, store=store)
with open(sys.argv[1]) as f:
    doc = json.load(f)
validator = jsonschema.Draft7Validator(bom_schema, resolver=resolver,
                                       format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:10]:
    print("invalid at /%s: %s" % ("/".join(str(p) for p in e.path), e.message), file=sys.stderr)
sys.exit(1 if errors else 0)
