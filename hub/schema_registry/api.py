"""Starlette app: the Confluent Schema Registry REST subset the confluent-kafka client uses.

Reads are open (anyone may fetch a public contract); registration, config changes and deletes
need ``Authorization: Bearer <registry_operator_token>``. Agencies never auto-register.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.contracts.compatibility import Problem
from hub.errors import IncompatibleSchemaError
from hub.schema_registry.errors import InvalidSchemaError, RegistryError
from hub.schema_registry.store import RegisteredSchema, SchemaStore

__all__ = ["CONTENT_TYPE", "create_app"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text.encode("utf-8"), status_code=status, media_type=CONTENT_TYPE)


def _error(status: int, code: int, message: str) -> Response:
    return _json({"error_code": code, "message": message}, status)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _version_body(registered: RegisteredSchema) -> dict[str, Any]:
    return {
        "subject": registered.subject,
        "version": registered.version,
        "id": registered.id,
        "schema": registered.schema,
    }


async def _schema_text(request: Request) -> str:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidSchemaError("el cuerpo de la petición no es JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise InvalidSchemaError("falta 'schema' (texto del esquema) en el cuerpo")
    if body.get("schemaType", "AVRO") != "AVRO":
        raise InvalidSchemaError("este registro sólo admite esquemas AVRO")
    if body.get("references"):
        raise InvalidSchemaError("este registro no admite referencias entre esquemas")
    return str(body["schema"])


def create_app(store: SchemaStore, operator_token: str | None) -> Starlette:
    """The registry app over ``store``; ``operator_token`` enables writes (``None`` refuses)."""

    def guarded(endpoint: Endpoint, *, write: bool = False) -> Endpoint:
        async def handle(request: Request) -> Response:
            if write:
                refusal = _authorize(request, operator_token)
                if refusal is not None:
                    return refusal
            try:
                return await endpoint(request)
            except IncompatibleSchemaError as exc:
                return _error(409, 409, exc.render())
            except RegistryError as exc:
                return _error(exc.http_status, exc.error_code, exc.render())

        return handle

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return run_in_threadpool(fn, *args, **kwargs)

    async def root(request: Request) -> Response:
        return _json({})

    async def schema_types(request: Request) -> Response:
        return _json(["AVRO"])

    async def subjects(request: Request) -> Response:
        return _json(await call(store.subjects, deleted=_flag(request, "deleted")))

    async def versions(request: Request) -> Response:
        subject = request.path_params["subject"]
        return _json(await call(store.versions, subject, deleted=_flag(request, "deleted")))

    async def version(request: Request) -> Response:
        p = request.path_params
        found = await call(
            store.get_version, p["subject"], p["version"], deleted=_flag(request, "deleted")
        )
        return _json(_version_body(found))

    async def version_schema(request: Request) -> Response:
        p = request.path_params
        found = await call(store.get_version, p["subject"], p["version"])
        return Response(found.schema.encode("utf-8"), media_type=CONTENT_TYPE)

    async def lookup(request: Request) -> Response:
        text = await _schema_text(request)
        subject = request.path_params["subject"]
        found = await call(store.lookup, subject, text, deleted=_flag(request, "deleted"))
        return _json(_version_body(found))

    async def register(request: Request) -> Response:
        text = await _schema_text(request)
        registered = await call(store.register, request.path_params["subject"], text)
        return _json({"id": registered.id})

    async def schema_by_id(request: Request) -> Response:
        stored = await call(store.get_schema, request.path_params["id"])
        return _json({"schema": stored.schema})

    async def raw_schema_by_id(request: Request) -> Response:
        stored = await call(store.get_schema, request.path_params["id"])
        return Response(stored.schema.encode("utf-8"), media_type=CONTENT_TYPE)

    async def schema_subjects(request: Request) -> Response:
        pairs = await call(store.schema_versions, request.path_params["id"])
        return _json(sorted({subject for subject, _ in pairs}))

    async def schema_versions(request: Request) -> Response:
        pairs = await call(store.schema_versions, request.path_params["id"])
        return _json([{"subject": s, "version": v} for s, v in pairs])

    async def get_config(request: Request) -> Response:
        subject = request.path_params.get("subject")
        fallback = subject is None or _flag(request, "defaultToGlobal")
        mode = await call(store.get_config, subject, fallback=fallback)
        return _json({"compatibilityLevel": mode.value})

    async def put_config(request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        level = body.get("compatibility") if isinstance(body, dict) else None
        if not isinstance(level, str):
            return _error(422, 42203, "falta 'compatibility' en el cuerpo")
        mode = await call(store.set_config, level, request.path_params.get("subject"))
        return _json({"compatibility": mode.value})

    async def delete_config(request: Request) -> Response:
        mode = await call(store.delete_config, request.path_params["subject"])
        return _json({"compatibilityLevel": mode.value})

    def _compat_body(problems: list[Problem], verbose: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"is_compatible": not problems}
        if verbose:
            body["messages"] = [problem.render() for problem in problems]
        return body

    async def compatibility(request: Request) -> Response:
        text = await _schema_text(request)
        p = request.path_params
        problems = await call(store.test_compatibility, p["subject"], text, p["version"])
        return _json(_compat_body(problems, _flag(request, "verbose")))

    async def compatibility_all(request: Request) -> Response:
        text = await _schema_text(request)
        problems = await call(store.test_compatibility, request.path_params["subject"], text)
        return _json(_compat_body(problems, _flag(request, "verbose")))

    async def delete_subject(request: Request) -> Response:
        subject = request.path_params["subject"]
        removed = await call(store.delete_subject, subject, permanent=_flag(request, "permanent"))
        return _json(removed)

    async def delete_version(request: Request) -> Response:
        p = request.path_params
        permanent = _flag(request, "permanent")
        removed = await call(store.delete_version, p["subject"], p["version"], permanent=permanent)
        return _json(removed)

    s = "/subjects/{subject:str}"
    v = s + "/versions/{version:str}"
    routes = [
        Route("/", guarded(root)),
        Route("/schemas/types", guarded(schema_types)),
        Route("/subjects", guarded(subjects)),
        Route(s, guarded(lookup), methods=["POST"]),
        Route(s, guarded(delete_subject, write=True), methods=["DELETE"]),
        Route(s + "/versions", guarded(versions), methods=["GET"]),
        Route(s + "/versions", guarded(register, write=True), methods=["POST"]),
        Route(v, guarded(version), methods=["GET"]),
        Route(v, guarded(delete_version, write=True), methods=["DELETE"]),
        Route(v + "/schema", guarded(version_schema)),
        Route("/schemas/ids/{id:int}", guarded(schema_by_id)),
        Route("/schemas/ids/{id:int}/schema", guarded(raw_schema_by_id)),
        Route("/schemas/ids/{id:int}/subjects", guarded(schema_subjects)),
        Route("/schemas/ids/{id:int}/versions", guarded(schema_versions)),
        Route("/config", guarded(get_config), methods=["GET"]),
        Route("/config", guarded(put_config, write=True), methods=["PUT"]),
        Route("/config/{subject:str}", guarded(get_config), methods=["GET"]),
        Route("/config/{subject:str}", guarded(put_config, write=True), methods=["PUT"]),
        Route("/config/{subject:str}", guarded(delete_config, write=True), methods=["DELETE"]),
        Route(
            "/compatibility/subjects/{subject:str}/versions/{version:str}",
            guarded(compatibility),
            methods=["POST"],
        ),
        Route(
            "/compatibility/subjects/{subject:str}/versions",
            guarded(compatibility_all),
            methods=["POST"],
        ),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.store = store
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answer with a JSON error body, as Confluent's registry does."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    route = f"{request.method} {request.url.path}"
    if status == 404:
        message = (
            f"el registro de esquemas no tiene la ruta {route}. Qué hacer: revise la URL "
            "(por ejemplo /subjects, /subjects/{subject}/versions, /schemas/ids/{id} con id "
            "entero, /config)."
        )
    elif status == 405:
        message = f"el registro de esquemas no admite {route}. Qué hacer: revise el método HTTP."
    else:
        message = f"petición no válida: {route} ({status})"
    response = _error(status, status, message)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


def _authorize(request: Request, token: str | None) -> Response | None:
    """``None`` when the request carries the operator token; else the refusal to send."""
    if not token:
        return _error(
            403,
            40301,
            "el registro de esquemas no acepta cambios: no hay token de operador configurado. "
            "Qué hacer: defina SISI_REGISTRY_OPERATOR_TOKEN al iniciar el registro y envíe "
            "'Authorization: Bearer <token>'. Las dependencias no registran esquemas.",
        )
    given = request.headers.get("authorization", "")
    scheme, _, credential = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credential.strip().encode(), token.encode()
    ):
        return _error(
            401,
            40101,
            "falta el token de operador o no es válido. Qué hacer: envíe "
            "'Authorization: Bearer <token>' con el valor de SISI_REGISTRY_OPERATOR_TOKEN.",
        )
    return None
