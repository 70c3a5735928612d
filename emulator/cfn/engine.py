"""The stack engine: create, update and delete a stack's resources in order, with rollback.

The work is done in moto at once; what the engine returns is the list of events
CloudFormation would emit, which the stack's timeline then reveals at the configured pace.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from emulator.cfn.template_diff import ResourceChange, plan_changes
from emulator.cfn.pacing import STACK_TYPE, Operation, Step
from emulator.cfn.provisioner import Provisioner, ResourceError
from emulator.cfn.stack import EmulatedStack, ExistingResource
from emulator.cfn.templates import dependency_order, parse

logger = logging.getLogger(__name__)

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


class Recorder:
    """Collects an operation's events in order."""

    def __init__(self, stack: EmulatedStack) -> None:
        self.stack = stack
        self.steps: list[Step] = []

    def stack_event(self, status: str, reason: str | None = None) -> None:
        self.steps.append(Step(self.stack.name, STACK_TYPE, status, reason, self.stack.stack_id))

    def resource(self, logical_id: str, resource_type: str, status: str, reason: str | None = None,
                 physical_id: str = "", replaced_copy: bool = False) -> None:
        self.steps.append(Step(logical_id, resource_type, status, reason, physical_id, replaced_copy))


class Engine:
    """Runs one operation on one stack."""

    def __init__(self, stack: EmulatedStack) -> None:
        self.stack = stack
        self.resource_map = stack.resource_map
        self.moto = Provisioner(stack)
        self.rec = Recorder(stack)

    # ---- steps with their events -----------------------------------------------------------
    def _create_one(self, logical_id: str) -> bool:
        definition = self.resource_map._resource_json_map[logical_id]
        resource_type = definition["Type"]
        self.rec.resource(logical_id, resource_type, "CREATE_IN_PROGRESS")
        try:
            self.moto.injected(logical_id, "CREATE")
            existing = self.moto.instantiate(logical_id, definition, None)
        except ResourceError as err:
            self.rec.resource(logical_id, resource_type, "CREATE_FAILED", err.reason)
            return False
        self.rec.resource(logical_id, resource_type, "CREATE_IN_PROGRESS",
                          "Resource creation Initiated", existing.physical_id)
        self.rec.resource(logical_id, resource_type, "CREATE_COMPLETE", None, existing.physical_id)
        return True

    def _update_one(self, logical_id: str, definition: dict[str, Any],
                    replaced: list[ExistingResource]) -> bool:
        old = self.stack.existing[logical_id]
        resource_type = old.resource_type
        try:
            replace, problem = self.moto.needs_replacement(old, definition), None
        except ResourceError as err:
            replace, problem = False, err
        self.rec.resource(logical_id, resource_type, "UPDATE_IN_PROGRESS",
                          REPLACING if replace else None, old.physical_id)
        try:
            if problem is not None:
                raise problem
            self.moto.injected(logical_id, "UPDATE")
            new = self.moto.modify(old, definition, replace)
        except ResourceError as err:
            self.rec.resource(logical_id, resource_type, "UPDATE_FAILED", err.reason, old.physical_id)
            return False
        if replace:
            replaced.append(old)  # deleted in the cleanup phase, as CloudFormation does
            self.rec.resource(logical_id, resource_type, "UPDATE_IN_PROGRESS",
                              "Resource creation Initiated", new.physical_id)
        self.rec.resource(logical_id, resource_type, "UPDATE_COMPLETE", None, new.physical_id)
        return True

    def _delete_one(self, existing: ExistingResource) -> bool:
        logical_id, resource_type, physical = existing.logical_id, existing.resource_type, existing.physical_id
        if existing.definition.get("DeletionPolicy") == "Retain":
            self.rec.resource(logical_id, resource_type, "DELETE_SKIPPED", None, physical)
            self.moto.forget(logical_id)
            return True
        self.rec.resource(logical_id, resource_type, "DELETE_IN_PROGRESS", None, physical)
        try:
            self.moto.injected(logical_id, "DELETE")
            self.moto.destroy(existing)
        except ResourceError as err:
            self.rec.resource(logical_id, resource_type, "DELETE_FAILED", err.reason, physical)
            return False
        self.rec.resource(logical_id, resource_type, "DELETE_COMPLETE", None, physical)
        self.moto.forget(logical_id)
        return True

    def _delete_in_reverse(self, resources: Iterable[ExistingResource]) -> list[str]:
        """Delete resources dependents-first; return the logical ids that failed."""
        by_id = {r.logical_id: r for r in resources}
        definitions = {lid: r.definition for lid, r in by_id.items()}
        order = dependency_order(definitions, definitions)
        return [lid for lid in reversed(order) if not self._delete_one(by_id[lid])]

    def _delete_copies(self, copies: list[ExistingResource]) -> None:
        """Delete superseded copies of replaced resources; the current copy keeps its state."""
        for old in reversed(copies):
            self.rec.resource(old.logical_id, old.resource_type, "DELETE_IN_PROGRESS", None,
                              old.physical_id, replaced_copy=True)
            try:
                self.moto.destroy(old)
            except ResourceError as err:
                self.rec.resource(old.logical_id, old.resource_type, "DELETE_FAILED", err.reason,
                                  old.physical_id, replaced_copy=True)
                continue
            self.rec.resource(old.logical_id, old.resource_type, "DELETE_COMPLETE", None,
                              old.physical_id, replaced_copy=True)

    # ---- operations ------------------------------------------------------------------------
    def create(self, on_failure: str = "ROLLBACK") -> Operation:
        """Create every active resource; on failure roll back (or stop, for DO_NOTHING)."""
        self.rec.stack_event("CREATE_IN_PROGRESS", "User Initiated")
        order = dependency_order(self.resource_map._resource_json_map, self.resource_map.active_resources())
        created: list[str] = []
        failed = None
        for logical_id in order:
            if not self._create_one(logical_id):
                failed = logical_id
                break
            created.append(logical_id)
        if failed is None:
            outputs, problem = self._outputs()
            if problem is None:
                self.rec.stack_event("CREATE_COMPLETE")
                return self.stack.schedule("CREATE", self.rec.steps, outputs)
            reason = problem + " "
        else:
            reason = f"The following resource(s) failed to create: [{failed}]. "
        logger.info("stack %s (%s): create failed (%s), on failure %s", self.stack.name,
                    self.stack.account_id, reason, on_failure)
        if on_failure == "DO_NOTHING":
            self.rec.stack_event("CREATE_FAILED", reason)
        else:
            self._roll_back_create(failed, created, reason, on_failure == "DELETE")
        return self.stack.schedule("CREATE", self.rec.steps, None)

    def _outputs(self, template: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]] | None, str | None]:
        """The template's outputs now, or why they cannot be evaluated (a template error)."""
        try:
            return self.stack.compute_outputs(template), None
        except Exception as err:  # noqa: BLE001 - whatever moto raises, the template is at fault
            logger.warning("stack %s: outputs failed: %s", self.stack.name, err, exc_info=True)
            return None, f"Template error: {getattr(err, 'message', None) or err}"

    def _roll_back_create(self, failed: str | None, created: list[str], reason: str, then_delete: bool) -> None:
        self.rec.stack_event("ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
        if failed is not None:
            failed_type = self.resource_map._resource_json_map[failed]["Type"]
            self.rec.resource(failed, failed_type, "DELETE_COMPLETE")  # nothing of it exists
        not_deleted = self._delete_in_reverse([self.stack.existing[lid] for lid in created])
        if not_deleted:
            self.rec.stack_event(
                "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{', '.join(not_deleted)}]. ")
        else:
            self.rec.stack_event("ROLLBACK_COMPLETE")
            if then_delete:
                self.rec.stack_event("DELETE_IN_PROGRESS", "User Initiated")
                self.rec.stack_event("DELETE_COMPLETE")

    def update(self, template_body: str, parameters: dict[str, Any], disable_rollback: bool = False,
               original: str | None = None) -> Operation:
        """Apply a new template/parameters; on failure restore the previous ones.

        ``template_body`` is the processed template; ``original`` the one submitted, when a
        transform made the two differ.
        """
        stack, resource_map = self.stack, self.resource_map
        new_template = parse(template_body)
        old_body, old_template, old_parameters = stack.template, resource_map._template, dict(stack.parameters)
        old_original = stack.original_template
        previous = dict(stack.existing)
        changes = {c.logical_resource_id: c for c in plan_changes(stack, new_template, parameters)}
        self.rec.stack_event("UPDATE_IN_PROGRESS", "User Initiated")
        resource_map.load_context(new_template, parameters)
        done: list[ResourceChange] = []
        replaced: list[ExistingResource] = []
        failed: ResourceChange | None = None
        for logical_id in dependency_order(resource_map._resource_json_map, resource_map.active_resources()):
            change = changes.get(logical_id)
            if change is None or change.action == "Remove":
                continue
            if change.action == "Add":
                ok = self._create_one(logical_id)
            else:
                ok = self._update_one(logical_id, resource_map._resource_json_map[logical_id], replaced)
            if not ok:
                failed = change
                break
            done.append(change)
        if failed is None:
            outputs, problem = self._outputs(new_template)
            if problem is None:
                self.rec.stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
                self._delete_copies(replaced)
                self._delete_in_reverse([previous[c.logical_resource_id] for c in changes.values()
                                         if c.action == "Remove"])
                self.rec.stack_event("UPDATE_COMPLETE")
                return self._finish(template_body, new_template, parameters, outputs, original)
            reason = problem + " "
        else:
            verb = "create" if failed.action == "Add" else "update"
            reason = f"The following resource(s) failed to {verb}: [{failed.logical_resource_id}]. "
        logger.info("stack %s (%s): update failed (%s), rollback %s", stack.name, stack.account_id,
                    reason, "disabled" if disable_rollback else "started")
        if disable_rollback:
            self.rec.stack_event("UPDATE_FAILED", reason)
            return self._finish(template_body, new_template, parameters, self._outputs(new_template)[0], original)
        self.rec.stack_event("UPDATE_ROLLBACK_IN_PROGRESS", reason)
        resource_map.load_context(old_template, old_parameters)
        superseded: list[ExistingResource] = []
        replaced_ids = {old.logical_id for old in replaced}
        for change in reversed(done):
            logical_id = change.logical_resource_id
            if change.action != "Modify":
                continue
            if logical_id in replaced_ids:
                # The previous copy was never touched: make it current, drop the new copy later.
                current = stack.existing[logical_id]
                self.rec.resource(logical_id, current.resource_type, "UPDATE_IN_PROGRESS", None,
                                  previous[logical_id].physical_id)
                self.moto.restore(previous[logical_id])
                superseded.append(current)
                self.rec.resource(logical_id, current.resource_type, "UPDATE_COMPLETE", None,
                                  previous[logical_id].physical_id)
            else:
                self._update_one(logical_id, previous[logical_id].definition, superseded)
        self.rec.stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self._delete_copies(superseded)
        if failed is not None and failed.action == "Add":
            self.rec.resource(failed.logical_resource_id, failed.resource_type, "DELETE_COMPLETE")
        self._delete_in_reverse([stack.existing[c.logical_resource_id] for c in done if c.action == "Add"])
        self.rec.stack_event("UPDATE_ROLLBACK_COMPLETE")
        return self._finish(old_body, old_template, old_parameters, self._outputs(old_template)[0], old_original)

    def _finish(self, body: str, template: dict[str, Any], parameters: dict[str, Any],
                outputs: list[dict[str, Any]] | None, original: str | None) -> Operation:
        stack = self.stack
        stack.template, stack.template_dict, stack.parameters = body, template, parameters
        stack.original_template = original
        stack.description = template.get("Description")
        return stack.schedule("UPDATE", self.rec.steps, outputs)

    def delete(self) -> Operation:
        """Delete every resource dependents-first; DELETE_FAILED names the ones that stayed."""
        previous_outputs = self.stack.timeline.operations[-1].outputs if self.stack.timeline.operations else None
        self.rec.stack_event("DELETE_IN_PROGRESS", "User Initiated")
        not_deleted = self._delete_in_reverse(list(self.stack.existing.values()))
        if not_deleted:
            logger.info("stack %s (%s): delete failed on %s", self.stack.name, self.stack.account_id,
                        not_deleted)
            self.rec.stack_event(
                "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(not_deleted)}]. ")
        else:
            self.rec.stack_event("DELETE_COMPLETE")
        return self.stack.schedule("DELETE", self.rec.steps, previous_outputs)


__all__ = ["Engine", "ResourceError"]
