import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SettingsDep
from api.schemas import HealthOut
from vidpipe import aws

router = APIRouter(prefix="/api", tags=["health"])
log = logging.getLogger(__name__)


def _check_database(engine) -> str:
    try:
        # Connection returned to the pool at once, before the queue is asked.
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        log.warning("health: database check failed: %s", exc)
        return "unavailable"


def _check_queue(settings) -> str:
    try:
        aws.client("sqs").get_queue_attributes(
            QueueUrl=settings.jobs_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return "ok"
    except Exception as exc:
        log.warning("health: queue check failed: %s", exc)
        return "unavailable"


@router.get(
    "/health",
    response_model=HealthOut,
    responses={
        503: {"model": HealthOut, "description": "The database or the queue is not answering"}
    },
)
async def health(request: Request, settings: SettingsDep) -> JSONResponse:
    checks = {
        "database": await run_in_threadpool(_check_database, request.app.state.engine),
        "queue": await run_in_threadpool(_check_queue, settings),
    }
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ok", **checks})
    failing = ", ".join(name for name, state in checks.items() if state != "ok")
    return JSONResponse(
        {"status": "unavailable", "detail": f"not answering: {failing}", **checks},
        status_code=503,
    )
