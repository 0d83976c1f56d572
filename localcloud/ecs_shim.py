"""Work around two moto 5.2.x Step Functions bugs, in-process only (the moto server must run in
this process, as `LocalCloud` does). Remove when tests/pipeline/test_moto_shim.py says so.

1. The ECS service integration never converts the state's PascalCase parameters (`Cluster`,
   `TaskDefinition`, ...) to botocore's casing, so every `ecs:runTask` state fails with
   States.Runtime, cause 'Cluster' (fixed upstream by getmoto/moto#10094, unreleased). The fix
   converts the parameters to the operation's input shape, and the response back, with botocore's
   service model - the conversion AWS itself documents for service integrations.
2. The SendTaskFailure handler drops `cause`, so the player would never see the job's reason.
"""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore import xform_name

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


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    op = _operation(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if op is not None and op.output_shape is not None:
        self._from_boto_response(response, op.output_shape)


def _send_task_failure(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    from moto.core.responses import EmptyResult

    return EmptyResult()


def _targets():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (  # noqa: E501
        StateTaskServiceEcs,
    )
    from moto.stepfunctions.responses import StepFunctionResponse

    return [
        (StateTaskServiceEcs, "_normalise_parameters", _normalise_parameters),
        (StateTaskServiceEcs, "_normalise_response", _normalise_response),
        (StepFunctionResponse, "send_task_failure", _send_task_failure),
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
