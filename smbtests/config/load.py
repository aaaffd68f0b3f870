"""Loading: YAML with positions -> validated models -> cross-checked LoadedConfig.

Every problem becomes one PolicyError naming file, line, column, key path and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from smbtests.config.environment import Environment, Timing
from smbtests.config.policy import Policy
from smbtests.config.references import resolve_environment, resolve_policy
from smbtests.config.soundness import check_policy, check_scope
from smbtests.config.source import SourceDocument, load_yaml, path_label, suggest
from smbtests.dates import utc_today
from smbtests.errors import PolicyError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LoadedConfig:
    """A policy and the environment it runs in, cross-checked."""

    environment: Environment
    policy: Policy
    environment_path: Path
    policy_path: Path
    policy_sha256: str
    overlay_applied: bool
    # what a policy may legitimately say but a reader should see (validate, pytest header)
    warnings: tuple[str, ...] = ()


def _describe(error: Mapping[str, Any], model_fields: Iterable[str], written: Any) -> str:
    kind = error["type"]
    key = error["loc"][-1] if error["loc"] else ""
    if kind == "extra_forbidden":
        return f"unknown key `{key}`{suggest(str(key), model_fields)}; remove or rename it."
    if kind == "missing":
        return f"required key `{key}` is missing; add it."
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if kind in ("literal_error", "string_type") and isinstance(written, int | float):
        # YAML 1.1 reads `3.0` or `445` unquoted as a number, never as the text it looks like
        return f'{message}; YAML read `{written}` as a number: write it in quotes ("{written}").'
    return f"{message}; fix the value."


def _written(data: Any, loc: tuple[str | int, ...]) -> Any:
    """The value the file holds at `loc`, or None where the path does not lead to one."""
    for part in loc:
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_list or (isinstance(data, dict) and part in data)):
            return None
        data = data[part]
    return data


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys that are valid at `loc`, for suggestions on unknown keys."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                field = next((f for f in current.model_fields.values() if f.alias == part), None)
            if field is None:
                return []
            current = _inner_model(field.annotation)
        elif current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside dict[..., M], tuple[M, ...], M | None, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _validate(model: type[M], doc: SourceDocument) -> M:
    if not isinstance(doc.data, dict):
        raise PolicyError(f"{doc.path}:1:1: expected a mapping of keys at the top level.")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # pydantic adds the dict-key validator's name to loc for bad keys; drop it
            loc = tuple(p for p in loc if p != "[key]")
            label = path_label(loc) or "top level"
            detail = _describe(error, _fields_at(model, loc), _written(doc.data, loc))
            lines.append(f"{doc.where(loc)}: {label}: {detail}")
        raise PolicyError("\n".join(lines)) from None


def _merge_overlay(data: Any, overlay: Any, overlay_path: Path) -> Any:
    """Apply an overlay: mappings merge key by key; `exceptions` entries merge by `id`."""
    if not isinstance(overlay, dict) or not isinstance(data, dict):
        raise PolicyError(f"{overlay_path}:1:1: an overlay must be a mapping of policy keys.")
    merged = dict(data)
    for key, value in overlay.items():
        if key == "exceptions" and isinstance(value, list):
            current = merged.get("exceptions", [])
            if not isinstance(current, list) or not all(isinstance(e, dict) for e in current):
                continue  # the policy's own shape error is reported when it is validated
            by_id = {e.get("id"): dict(e) for e in current}
            for entry in value:
                if not isinstance(entry, dict) or entry.get("id") not in by_id:
                    raise PolicyError(
                        f"{overlay_path}: exceptions: each entry must name an existing `id`."
                    )
                by_id[entry["id"]].update(entry)
            merged["exceptions"] = list(by_id.values())
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_overlay(merged[key], value, overlay_path)
        else:
            merged[key] = value
    return merged


def resolve_environment_path(name_or_path: str, environments_dir: Path) -> Path:
    """`lab` -> environments/lab.yaml; a path is taken as it is."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return candidate
    path = environments_dir / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(
            p.stem for p in environments_dir.glob("*.yaml") if not p.stem.endswith("-policy")
        )
        raise PolicyError(
            f"--env {name_or_path}: no file {path}{suggest(name_or_path, known)} "
            f"(known: {', '.join(known) or 'none'})"
        )
    return path


def _anchored(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _anchor_paths(env: Environment, base: Path) -> Environment:
    """Every path in an environment file is relative to that file, wherever pytest starts."""
    probes = {
        name: probe.model_copy(
            update={
                key: _anchored(getattr(probe, key), base)
                for key in ("key", "known_hosts", "ca_bundle")
                if getattr(probe, key) is not None
            }
        )
        for name, probe in env.probes.items()
    }
    windows = {
        name: host.model_copy(
            update={
                "winrm": host.winrm.model_copy(
                    update={"ca_bundle": _anchored(host.winrm.ca_bundle, base)}
                )
            }
        )
        if host.winrm is not None and host.winrm.ca_bundle is not None
        else host
        for name, host in env.windows_hosts.items()
    }
    update: dict[str, Any] = {
        "policy": _anchored(env.policy, base),
        "probes": probes,
        "windows_hosts": windows,
    }
    if env.policy_overlay is not None:
        update["policy_overlay"] = _anchored(env.policy_overlay, base)
    return env.model_copy(update=update)


def load(environment_path: Path) -> LoadedConfig:
    """Load and cross-check an environment and the policy it names; raise PolicyError."""
    env_doc = load_yaml(environment_path)
    environment = _anchor_paths(_validate(Environment, env_doc), environment_path.parent)
    policy_path = environment.policy
    policy_doc = load_yaml(policy_path)
    data = policy_doc.data
    overlay_applied = False
    text = policy_doc.text
    if environment.policy_overlay is not None and environment.policy_overlay.exists():
        overlay_doc = load_yaml(environment.policy_overlay)
        data = _merge_overlay(data, overlay_doc.data, overlay_doc.path)
        overlay_applied = True
        text += b"\n---\n" + overlay_doc.text
    policy_doc = SourceDocument(policy_doc.path, data, policy_doc.positions, text)
    policy = _validate(Policy, policy_doc)
    resolve_policy(policy, policy_doc)
    warnings = check_policy(policy, policy_doc, utc_today())
    check_scope(environment, env_doc)  # first: a mistyped address reads as exactly that
    resolve_environment(environment, policy, env_doc)
    return LoadedConfig(
        environment=environment,
        policy=policy,
        environment_path=environment_path,
        policy_path=policy_path,
        policy_sha256=hashlib.sha256(text).hexdigest(),
        overlay_applied=overlay_applied,
        warnings=tuple(warnings),
    )


def with_timing(loaded: LoadedConfig, **overrides: float | int | None) -> LoadedConfig:
    """The config with command-line timing overrides, validated against the same bounds as
    the file (`connect_timeout=3.0`; None leaves a value as the file has it)."""
    update = {key: value for key, value in overrides.items() if value is not None}
    if not update:
        return loaded
    try:
        timing = Timing.model_validate(loaded.environment.timing.model_dump() | update)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"command-line override out of range ({problems})") from None
    environment = loaded.environment.model_copy(update={"timing": timing})
    return dataclasses.replace(loaded, environment=environment)
