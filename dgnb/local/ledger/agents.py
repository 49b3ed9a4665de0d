"""Voice agent configurations and template variables of a project (``/v1/projects/{id}/agents`` and
``/agent-variables``), as Deepgram stores them: a configuration is the ``agent`` block of a Settings message,
immutable but for its metadata, whose ``agent_id`` a Settings message may give in place of the block; a
variable ``DG_<NAME>`` holds any JSON value that replaces the string ``"DG_<NAME>"`` wherever it appears in
an agent block.

>>> import tempfile
>>> from dgnb.local.ledger import Ledger
>>> ledger = Ledger(tempfile.mkdtemp()); pid = ledger.default_project_id
>>> agent = ledger.create_agent_config(pid, '{"think": {"prompt": "DG_PROMPT"}}', {"team": "support"})
>>> _ = ledger.create_agent_variable(pid, "DG_PROMPT", "Be brief.")
>>> ledger.resolve_agent(pid, agent["agent_id"])
{'think': {'prompt': 'Be brief.'}}
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ..wire.errors import BAD_REQUEST, EngineError
from .records import _not_found, now_iso

VARIABLE_NAME = re.compile(r"DG_[A-Z0-9_]+")


def _metadata(value: Any, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise EngineError(400, BAD_REQUEST, "metadata must be an object of string values")
    return value


class Agents:
    """Agent configurations and variables of the ledger."""

    # ---- configurations
    def create_agent_config(self, project_id: str, config: Any, metadata: Any = None) -> dict:
        if not isinstance(config, str):
            raise EngineError(400, BAD_REQUEST, "config must be a string: the agent block of a Settings message as JSON")
        try:
            block = json.loads(config)
        except ValueError:
            raise EngineError(400, BAD_REQUEST, "config is not valid JSON") from None
        if not isinstance(block, dict):
            raise EngineError(400, BAD_REQUEST, "config must hold a JSON object (the agent block of a Settings message)")
        agent_id, now = str(uuid.uuid4()), now_iso()
        with self._lock:
            self._db.execute("INSERT INTO agent_configs VALUES (?, ?, ?, ?, ?, ?)",
                             (agent_id, project_id, json.dumps(block), json.dumps(_metadata(metadata)), now, now))
        return self.agent_config(project_id, agent_id)

    def agent_configs(self, project_id: str) -> list[dict]:
        return [_config_dict(r) for r in self._q("SELECT * FROM agent_configs WHERE project_id = ? ORDER BY created_at",
                                                 (project_id,))]

    def agent_config(self, project_id: str, agent_id: str) -> dict:
        row = self._one("SELECT * FROM agent_configs WHERE project_id = ? AND agent_id = ?", (project_id, agent_id))
        if row is None:
            raise _not_found(f"no agent configuration {agent_id!r} in project {project_id!r}")
        return _config_dict(row)

    def update_agent_config(self, project_id: str, agent_id: str, metadata: Any) -> dict:
        self.agent_config(project_id, agent_id)
        with self._lock:
            self._db.execute("UPDATE agent_configs SET metadata = ?, updated_at = ? WHERE agent_id = ?",
                             (json.dumps(_metadata(metadata, required=True)), now_iso(), agent_id))
        return self.agent_config(project_id, agent_id)

    def delete_agent_config(self, project_id: str, agent_id: str) -> dict:
        self.agent_config(project_id, agent_id)
        with self._lock:
            self._db.execute("DELETE FROM agent_configs WHERE agent_id = ?", (agent_id,))
        return {"message": f"agent configuration {agent_id} deleted"}

    # ---- variables
    def create_agent_variable(self, project_id: str, key: Any, value: Any) -> dict:
        if not isinstance(key, str) or not VARIABLE_NAME.fullmatch(key):
            raise EngineError(400, BAD_REQUEST, f"key must follow the DG_<VARIABLE_NAME> format (capitals, digits, _); got {key!r}")
        variable_id, now = str(uuid.uuid4()), now_iso()
        with self._lock:
            if self._db.execute("SELECT 1 FROM agent_variables WHERE project_id = ? AND key = ?", (project_id, key)).fetchone():
                raise EngineError(409, "CONFLICT", f"the variable {key} already exists in this project; update it instead")
            self._db.execute("INSERT INTO agent_variables VALUES (?, ?, ?, ?, ?, ?)",
                             (variable_id, project_id, key, json.dumps(value), now, now))
        return self.agent_variable(project_id, variable_id)

    def agent_variables(self, project_id: str) -> list[dict]:
        return [_variable_dict(r) for r in self._q("SELECT * FROM agent_variables WHERE project_id = ? ORDER BY key",
                                                   (project_id,))]

    def agent_variable(self, project_id: str, variable_id: str) -> dict:
        row = self._one("SELECT * FROM agent_variables WHERE project_id = ? AND variable_id = ?", (project_id, variable_id))
        if row is None:
            raise _not_found(f"no agent variable {variable_id!r} in project {project_id!r}")
        return _variable_dict(row)

    def update_agent_variable(self, project_id: str, variable_id: str, value: Any) -> dict:
        self.agent_variable(project_id, variable_id)
        with self._lock:
            self._db.execute("UPDATE agent_variables SET value = ?, updated_at = ? WHERE variable_id = ?",
                             (json.dumps(value), now_iso(), variable_id))
        return self.agent_variable(project_id, variable_id)

    def delete_agent_variable(self, project_id: str, variable_id: str) -> dict:
        self.agent_variable(project_id, variable_id)
        with self._lock:
            self._db.execute("DELETE FROM agent_variables WHERE variable_id = ?", (variable_id,))
        return {"message": f"agent variable {variable_id} deleted"}

    # ---- use
    def resolve_agent(self, project_id: str, agent: Any) -> Any:
        """A Settings message's ``agent``: a stored configuration's block when it is an ``agent_id``, with every
        string that names a variable of the project replaced by its value."""
        if isinstance(agent, str):
            agent = self.agent_config(project_id, agent)["config"]
        values = {v["key"]: v["value"] for v in self.agent_variables(project_id)}
        return _substitute(agent, values) if values else agent


def _substitute(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


def _config_dict(row) -> dict:
    return {"agent_id": row["agent_id"], "config": json.loads(row["config"]), "metadata": json.loads(row["metadata"]),
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


def _variable_dict(row) -> dict:
    return {"variable_id": row["variable_id"], "key": row["key"], "value": json.loads(row["value"]),
            "created_at": row["created_at"], "updated_at": row["updated_at"]}
