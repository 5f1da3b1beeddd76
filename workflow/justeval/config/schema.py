"""The config's schema checks, with one-line errors naming the key.

Imported by the Snakefile at parse time (every SLURM job parses it again).
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path


class ConfigError(ValueError):
    """A configuration problem, with a one-line message naming the key."""


# --------------------------------------------------------------------------
# schema validation with short messages


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short_message(error) -> str:
    where = _key_path(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        keys = ", ".join(repr(k) for k in extra)
        return f"{where}: unknown key {keys} (known keys: {known})"
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing required key '{missing}'"
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where}: expected {expected}, got {error.instance!r}"
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{where}: {error.instance!r} is not one of {allowed}"
    if validator == "pattern":
        return f"{where}: {error.instance!r} does not match {error.validator_value!r}"
    return f"{where}: {error.message}"


@functools.lru_cache(maxsize=4)
def load_schema(schema_path: str | Path) -> dict:
    """The schema, read once per process (every check at parse time uses it; none
    changes it)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: 10x faster
    with open(schema_path) as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)


def schema_errors(config: dict, schema: dict) -> list[str]:
    """All schema violations of ``config`` as short one-line messages."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    return [_short_message(e) for e in errors]


_SCALARS = {"number": (int, float), "integer": (int,), "boolean": (bool,), "null": (type(None),)}


def _resolve(node: dict, schema: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"].removeprefix("#/").split("/")
        target = schema
        for part in ref:
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _coerce(value, node: dict, schema: dict):
    """``value`` with strings turned into the number, boolean or null the schema asks
    for, where the string reads as exactly one such value (``'0.5'``, ``'true'``)."""
    import yaml

    node = _resolve(node, schema)
    if not isinstance(node, dict):
        return value
    if isinstance(value, str):
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types or not any(t in _SCALARS for t in types):
            return value
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        ok = any(
            isinstance(parsed, _SCALARS[t]) and not (t in ("number", "integer") and isinstance(parsed, bool))
            for t in types
            if t in _SCALARS
        )
        return parsed if ok else value
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[key] = _coerce(item, sub, schema)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = _coerce(item, node["items"], schema)
    return value


def coerce_strings(config: dict, schema_path: str | Path) -> None:
    """Snakemake hands nested ``--config`` values over as strings
    (``--config 'generation={temperature: 0.5}'`` gives ``'0.5'``): turn them, in
    place, into the type the schema asks for where that is unambiguous."""
    schema = load_schema(schema_path)
    _coerce(config, schema, schema)


def _fill(value, node: dict, schema: dict) -> None:
    node = _resolve(node, schema)
    if not isinstance(node, dict):
        return
    if isinstance(value, dict):
        props = node.get("properties", {})
        for key, sub in props.items():
            if isinstance(sub, dict) and "default" in sub and key not in value:
                value[key] = copy.deepcopy(sub["default"])
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                _fill(item, sub, schema)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for item in value:
            _fill(item, node["items"], schema)


def fill_defaults(config: dict, schema_path: str | Path) -> None:
    """Set, in place, every default the schema gives for a key the config leaves out,
    at every depth (as Snakemake's ``validate(set_default=True)`` does; a unit test
    compares the two). Run after :func:`check_schema`: the config is valid."""
    schema = load_schema(schema_path)
    _fill(config, schema, schema)


def _override_errors(config: dict, schema: dict) -> list[str]:
    """Grading variants' `rule_grade`/`model_grade` overrides, checked against the
    schema of the top-level sections they override."""
    import jsonschema

    errors = []
    variants = config.get("grading_variants")
    for i, entry in enumerate(variants if isinstance(variants, list) else []):
        for section in ("rule_grade", "model_grade"):
            override = entry.get(section) if isinstance(entry, dict) else None
            if not isinstance(override, dict):
                continue
            sub = {**_resolve(schema["properties"][section], schema), "$defs": schema.get("$defs", {})}
            sub.pop("default", None)
            for error in jsonschema.Draft202012Validator(sub).iter_errors(override):
                message = _short_message(error)
                where = f"grading_variants[{i}].{section}"
                if message.startswith("(top level)"):
                    message = where + message.removeprefix("(top level)")
                else:
                    message = f"{where}.{message}"
                errors.append(message)
    return errors


def check_schema(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError with the first schema violation, in one line."""
    schema = load_schema(schema_path)
    errors = schema_errors(config, schema)
    if not errors:
        errors = _override_errors(config, schema)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"config error: {errors[0]}{more}")


def check_writable(folder: str, key: str) -> None:
    """A folder a job will write to, checked before any engine loads: it, or the
    nearest existing folder above it, must be writable (nothing is created here)."""
    path = Path(folder).expanduser().absolute()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"config error: {key}: {folder}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"config error: {key}: {folder}: {probe} is not writable")
