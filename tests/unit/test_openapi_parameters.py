"""Every path parameter that names an event is declared once (``deps.Ref``) and says what it takes in /docs."""

from __future__ import annotations

from shuzhi.entrypoints.api.app import create_app


def test_every_event_reference_in_a_path_is_described_in_the_api_document() -> None:
    spec = create_app().openapi()
    refs = [(method, path, p) for path, ops in spec["paths"].items() for method, op in ops.items()
            for p in op.get("parameters", []) if p["name"] == "ref" and p["in"] == "path"]
    assert len(refs) >= 40  # the event routes, the desk's, the plans', the town's …
    undescribed = [f"{m.upper()} {path}" for m, path, p in refs if "number" not in p.get("description", "")]
    assert not undescribed, f"path parameter 'ref' without its description: {undescribed}"
