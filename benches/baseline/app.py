"""The baseline service: scantriage's analysis served the common Python way, for the load
benchmark to compare with. It speaks just enough of scantriage's API for the same load generator
to drive both: `POST /api/v1/scans` answers the analysis synchronously, `GET /healthz`.

Run it with run.sh (uvicorn, one worker process per core). Each worker loads both models once at
start-up and analyses scans on threads of its own, so that its event loop keeps reading uploads
meanwhile. A worker may run as many analyses at once as there are cores (ANALYSES_PER_WORKER
overrides): the kernel hands connections to worker processes unevenly, and with one analysis
per worker a 3-1 spread of 4 keep-alive connections left a core idle and halved throughput
(docs/benchmarks.md). ONNX Runtime sessions and most numpy work release the GIL.
"""

import contextlib
import os
from pathlib import Path

import anyio
from python_multipart import create_form_parser
from python_multipart.exceptions import FormParserError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import pipeline

# The Rust service's default body limit.
MAX_BODY_BYTES = 64 * 1024 * 1024
MANIFEST = Path(os.environ.get("SCANTRIAGE_MODELS", Path(__file__).resolve().parents[2] / "models/manifest.toml"))


def error(status: int, code: str, message: str) -> JSONResponse:
    """scantriage's error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def read_parts(request: Request) -> dict[str, bytes]:
    """The multipart body's parts by name, in memory, whether or not a part carries a file name:
    Starlette's `request.form()` reads a part without one as text, at most 1 MB, and the load
    generator sends its images so. Raises InputError on a malformed or oversized body."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise pipeline.InputError("bad_multipart", "expected a multipart/form-data body", 400)
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise pipeline.InputError("too_large", f"the body is larger than {MAX_BODY_BYTES} bytes", 413)
    parts: dict[str, bytes] = {}

    def add(name: bytes, value: bytes) -> None:
        key = name.decode("latin-1")
        if key in parts:
            raise pipeline.InputError("duplicate_part", f"part {key!r} appears twice", 400)
        parts[key] = value

    def on_field(field) -> None:
        add(field.field_name, field.value or b"")

    def on_file(file) -> None:
        file.file_object.seek(0)
        add(file.field_name, file.file_object.read())

    try:
        parser = create_form_parser(request.headers, on_field, on_file, {"MAX_MEMORY_FILE_SIZE": MAX_BODY_BYTES})
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BODY_BYTES:
                raise pipeline.InputError("too_large", f"the body is larger than {MAX_BODY_BYTES} bytes", 413)
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as e:
        raise pipeline.InputError("bad_multipart", f"malformed multipart body: {e}", 400) from None
    return parts


async def create_scan(request: Request) -> JSONResponse:
    parts = await read_parts(request)
    for part in ("metadata", "high"):
        if part not in parts:
            raise pipeline.InputError("missing_part", f"the upload has no {part!r} part", 400)
    metadata = pipeline.Metadata.from_json(parts["metadata"])
    state = request.app.state
    analysis = await anyio.to_thread.run_sync(
        pipeline.analyse, state.models, parts["high"], parts.get("low"), metadata, limiter=state.limiter
    )
    return JSONResponse({"state": "analysed", "analysis": analysis})


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def input_error(_: Request, e: pipeline.InputError) -> JSONResponse:
    return error(e.status, e.code, e.message)


async def http_error(_: Request, e: HTTPException) -> JSONResponse:
    """Unknown paths and methods, in the same error body."""
    return error(
        e.status_code, {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "bad_request"), e.detail
    )


async def internal_error(_: Request, e: Exception) -> JSONResponse:
    """A bug, not the client's fault: the same error body, no traceback (uvicorn logs it)."""
    return error(500, "internal", "internal error")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    app.state.models = pipeline.Models(MANIFEST, int(os.environ.get("ORT_INTRA_THREADS", "1")))
    app.state.limiter = anyio.CapacityLimiter(int(os.environ.get("ANALYSES_PER_WORKER", os.cpu_count() or 1)))
    yield


app = Starlette(
    routes=[Route("/api/v1/scans", create_scan, methods=["POST"]), Route("/healthz", healthz)],
    exception_handlers={pipeline.InputError: input_error, HTTPException: http_error, Exception: internal_error},
    lifespan=lifespan,
)
