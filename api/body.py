"""Request bodies read by hand: size-limited (also after gunzip), JSON-parsed with a
precise problem on failure, and declared in the OpenAPI document with their schema."""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from api.problems import Problem


async def read_body(request: Request, limit: int) -> bytes:
    """The body, gunzipped if sent so; 413 past `limit` bytes (before or after
    decompression, so a small gzip bomb is refused too)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Payload too large", f"the body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, "Payload too large", f"the body is over {limit} bytes")
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "identity":
        return bytes(body)
    if encoding != "gzip":
        raise Problem(415, "Unsupported media type", f"content-encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(bytes(body), limit + 1)
    except zlib.error as exc:
        raise Problem(400, "Bad request", f"invalid gzip body: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise Problem(413, "Payload too large", f"the decompressed body is over {limit} bytes")
    return data


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise Problem(400, "Bad request", f"the body is not valid JSON{where}") from None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the JSON body, its schema inlined (the body
    is read by hand, for the size limit, so FastAPI does not register the model)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": inline(schema)}}}}
