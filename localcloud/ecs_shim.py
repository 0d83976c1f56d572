"""Work around two moto 5.2.x Step Functions bugs, in-process only (the moto server must run in
this process, as `LocalCloud` does). Remove when tests/pipeline/test_moto_shim.py says so.

1. The ECS service integration never converts the state's PascalCase parameters (`Cluster`,
   `TaskDefinition`, ...) to botocore's casing, so every `ecs:runTask` state fails with
   States.Runtime, cause 'Cluster' (fixed upstream by getmoto/moto#10094, unreleased). The fix
   converts the parameters to the operation's input shape, and the response back, with botocore's
   service model - the conversion AWS itself documents for service integrations.
2. The SendTaskFailure handler drops `cause`, so the player would never see the job's reason.
3. The ECS integration has no error names of its own: a RunTask reply with `failures` (no Fargate
   capacity, vCPU quota) crashes on `Tasks[0]` and an ECS error response becomes
   `States.Runtime`, so the state's Retry for them could never match locally. As in AWS, a
   `failures` reply fails the state as `AmazonECS.Unknown` and an ECS error as `ECS.<code>`
   (e.g. `ECS.InvalidParameterException` for throttled subnet / security-group lookups).
4. A `.waitForTaskToken` state keeps one task token across its Retry attempts, and the next
   attempt's first callback or heartbeat reads the previous attempt's stored outcome: a retry after
   SendTaskFailure fails as soon as the new job heartbeats. AWS issues a fresh token per attempt;
   so does this shim, and the previous token is refused (TaskDoesNotExist), as AWS refuses it.
"""

from __future__ import annotations

import json
from functools import lru_cache

import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError

from vidpipe import aws

_saved: dict = {}


@lru_cache
def _operation(service: str, action_snake: str):
    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if xform_name(name) == action_snake:
            return model.operation_model(name)
    return None


def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    op = _operation(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if op is not None and op.input_shape is not None:
        self._to_boto_request(parameters, op.input_shape)


class RunTaskFailures(Exception):
    """RunTask answered 200 with `failures` and no task (Fargate capacity, quotas)."""

    def __init__(self, failures: list):
        super().__init__(json.dumps({"Failures": failures}))
        self.failures = failures


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    op = _operation(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if op is not None and op.output_shape is not None:
        self._from_boto_response(response, op.output_shape)
    if (
        op is not None
        and op.name == "RunTask"
        and isinstance(response, dict)
        and response.get("Failures")
        and not response.get("Tasks")
    ):
        raise RunTaskFailures(response["Failures"])


def _from_error(self, env, ex):
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if isinstance(ex, RunTaskFailures):
        error, cause = "AmazonECS.Unknown", str(ex)
    elif isinstance(ex, ClientError):
        error = f"ECS.{aws.error_code(ex) or 'AmazonECSException'}"
        cause = ex.response.get("Error", {}).get("Message") or str(ex)
    else:
        return StateTaskServiceCallback._from_error(self, env=env, ex=ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(
            taskFailedEventDetails=TaskFailedEventDetails(
                error=error,
                cause=cause,
                resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
            )
        ),
    )


def _send_task_failure(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    from moto.core.responses import EmptyResult

    return EmptyResult()


def _evaluate_with_timeout(self, env):
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerLeft

    context = env.states.context_object.context_object_data
    if context.get("State", {}).get("RetryCount") and "Task" in context:
        previous = env.callback_pool_manager.get(context["Task"]["Token"])
        if previous is not None:
            previous.report(CallbackConsumerLeft())
        env.callback_pool_manager.add(env.states.context_object.update_task_token())
    return ExecutionState._evaluate_with_timeout(self, env)


def _targets():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (  # noqa: E501
        StateTaskServiceEcs,
    )
    from moto.stepfunctions.responses import StepFunctionResponse

    return [
        (StateTaskServiceEcs, "_normalise_parameters", _normalise_parameters),
        (StateTaskServiceEcs, "_normalise_response", _normalise_response),
        (StateTaskServiceEcs, "_from_error", _from_error),
        (StepFunctionResponse, "send_task_failure", _send_task_failure),
        (StateTaskServiceCallback, "_evaluate_with_timeout", _evaluate_with_timeout),
    ]


def install() -> None:
    """Patch moto in this process (idempotent)."""
    for cls, name, fn in _targets():
        if (cls, name) not in _saved:
            _saved[(cls, name)] = cls.__dict__.get(name)
            setattr(cls, name, fn)


def uninstall() -> None:
    """Restore moto's own behaviour (used by the test that checks the shim is still needed)."""
    for (cls, name), original in list(_saved.items()):
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
        del _saved[(cls, name)]


def installed() -> bool:
    return bool(_saved)
