"""The config's schema checks, with one-line errors naming the key.

Imported by the Snakefile at parse time (every SLURM job parses it again).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from justeval.io.config_schema import load_schema


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


# --------------------------------------------------------------------------
# the keys table of docs/configuration.md, generated from the schema

KEYS_BEGIN = "<!-- keys table: generated from workflow/schemas/config.schema.yaml -->"
KEYS_END = "<!-- end of the keys table -->"


def _cell(value) -> str:
    import json

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`" if value else "`''`"
    text = json.dumps(value, ensure_ascii=False)
    return f"`{text}`"


def _rows(node: dict, schema: dict, prefix: str, seen: dict) -> list[tuple[str, str, str]]:
    """(key, default, description) of every key under ``node``, depth first. A shared
    definition (``$ref``) is listed once; where it comes again, its row points there.
    Keys none of whose children say anything (the per-model `generation` overrides)
    are one row."""
    out = []
    for key, raw in node.get("properties", {}).items():
        sub = _resolve(raw, schema)
        path = f"{prefix}{key}"
        description = " ".join(str(sub.get("description", "")).split())
        default = _cell(sub["default"]) if "default" in sub else ""
        items = sub.get("items", {}) if sub.get("type") == "array" else {}
        ref = (items or raw).get("$ref")
        inner = _resolve(items, schema) if items else sub
        children = inner.get("properties", {})
        said = any(
            "description" in c or "default" in c
            for c in map(lambda c: _resolve(c, schema), children.values())
        )
        if children and default == "`{}`":
            default = ""  # a section: its keys carry the defaults
        if ref in seen and children:
            description += f" Each entry has the keys of `{seen[ref]}`."
            children = {}
        elif ref and children:
            seen[ref] = path + ("[]" if items else "")
        out.append((path, default, description.strip()))
        if children and said:
            out += _rows(inner, schema, path + ("[]." if items else "."), seen)
    return out


def keys_table(schema_path: str | Path) -> str:
    """Every config key with its default (as the schema writes it) and its description,
    as a Markdown table: docs/configuration.md holds it between KEYS_BEGIN and KEYS_END,
    and a unit test checks that it is this table. Print it with
    ``python -m justeval.config.schema``."""
    schema = load_schema(schema_path)
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key, default, description in _rows(schema, schema, "", {}):
        lines.append(f"| `{key}` | {default} | {description.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from justeval.io.config_schema import SCHEMA_PATH

    print(keys_table(SCHEMA_PATH), end="")
