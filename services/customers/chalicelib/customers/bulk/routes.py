"""Routes of bulk actions (POST /customers/bulk) and of the jobs that run the large ones."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from chalicelib.customers.bulk import usecases as bulk
from chalicelib.customers.bulk.models import BulkRequest, BulkResult, Job
from chalicelib.customers.errors import CustomerError
from chalicelib.customers.http import problem_for
from clientela import problems
from clientela.api import Call, Reply, Service, idempotency_key
from clientela.problems import Problem

# 10,000 ids are about 300 KB; the limit also admits 10,001 ids of escaped text, so a list
# one id too long is answered 422 naming `target.ids`, not 413.
MAX_BODY = 4 * 1024 * 1024
ERRORS = (CustomerError, IdempotencyValidationError, IdempotencyAlreadyInProgressError)


@problem_for.register
def _(_error: bulk.JobNotFound) -> Problem:
    return problems.not_found("job")


def _answer(store_id: str, outcome: dict[str, Any]) -> Reply:
    if outcome["status"] == 200:
        return Reply(200, BulkResult.model_validate(outcome["result"]))
    job = bulk.get_job(store_id, outcome["job_id"])
    return Reply(202, Job.of(job), {"Location": f"/jobs/{job.id}"})


def register(service: Service) -> None:
    @service.route(
        "/customers/bulk",
        "POST",
        summary="Act on many customers: tags, favorite, consent, delete",
        body=BulkRequest,
        response=BulkResult,
        also={202: Job},
        errors=(409, 413, 422),
        headers=("Idempotency-Key",),
        response_headers=("Location",),
        max_body=MAX_BODY,
    )
    def bulk_action(call: Call) -> Reply:
        """`target` is exactly one of `ids` (1-10,000 customer ids), `filter` (the filters of
        GET /customers) or `segment_id`.

        Up to 1,000 ids: done at once, 200 with a result per id (`updated`, `unchanged`,
        `not_found`, or `refused` with a `reason`). More ids, a filter or a segment: a job,
        202 with the job and `Location: /jobs/{id}` (a segment's or filter's customers are
        those matching when each chunk runs, dates fixed when the job starts).

        Each action is idempotent per customer: adding a tag already there is `unchanged`.
        `subscribe` records single opt-in from `admin`; a customer who unsubscribed through an
        unsubscribe link is refused. With an `Idempotency-Key`, a retry with the same body gets
        the same answer (the same job, as it stands now); another body with that key: 422.
        """
        body: BulkRequest = call.body
        key = idempotency_key(call.header("Idempotency-Key"))
        try:
            if key is None:
                outcome = bulk.run_bulk(call.store_id, body, call.request_id)
            else:
                outcome = bulk.run_bulk_once(
                    request={
                        "store_id": call.store_id,
                        "idempotency_key": key,
                        "body": body.model_dump(mode="json", exclude_unset=True),
                        "correlation_id": call.request_id,
                    }
                )
            return _answer(call.store_id, outcome)
        except ERRORS as error:
            raise problem_for(error) from None

    @service.route(
        "/jobs/{job_id}",
        "GET",
        summary="A bulk job's progress and report",
        response=Job,
        errors=(404,),
    )
    def get_job(call: Call, job_id: str) -> Reply:
        """`status` queued, running, succeeded or failed; `processed` of `total` (known from the
        start for ids, at the end for a filter or segment); counts and the first 100 failures.
        Jobs are kept 30 days."""
        try:
            job = bulk.get_job(call.store_id, job_id)
        except bulk.JobNotFound as error:
            raise problem_for(error) from None
        return Reply(200, Job.of(job))
