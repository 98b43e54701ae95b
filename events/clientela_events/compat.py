"""Is a new version of a schema safe for consumers written against the old one?

Consumers are tolerant readers: they ignore fields they do not know. So a schema may gain
fields, but must not lose one, turn a required field optional, or change a field's type. Any of
those needs a new version of the event.
"""

from __future__ import annotations

from typing import Any


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _alternatives(schema: dict[str, Any], root: dict[str, Any]) -> set[Any]:
    """The shapes an anyOf allows, nested anyOfs flattened: anyOf[anyOf[a, b], c] is a, b, c."""
    shapes: set[Any] = set()
    for given in schema["anyOf"]:
        option = _resolve(given, root)
        if "anyOf" in option:
            shapes |= _alternatives(option, root)
        else:
            shapes.add(_shape(option, root))
    return shapes


def _shape(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """What a value of this schema looks like, ignoring titles, descriptions and defaults."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return ("anyOf", sorted(repr(shape) for shape in _alternatives(schema, root)))
    if schema.get("type") == "array":
        return ("array", _shape(schema.get("items", {}), root))
    if schema.get("type") == "object" or "properties" in schema:
        return ("object",)
    return (schema.get("type"), schema.get("format"), tuple(schema.get("enum", ())))


def breaking_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    path: str = "",
    roots: tuple[Any, Any] | None = None,
) -> list[str]:
    old_root, new_root = roots or (old, new)
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    if _shape(old, old_root) != _shape(new, new_root):
        return [f"{path or '/'}: type changed"]
    if old.get("type") == "array":
        return breaking_changes(
            old.get("items", {}), new.get("items", {}), path=f"{path}[]", roots=(old_root, new_root)
        )
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name, old_prop in old_props.items():
        where = f"{path}/{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        if name in old_required and name not in new_required:
            problems.append(f"{where}: no longer required")
        problems += breaking_changes(
            old_prop, new_props[name], path=where, roots=(old_root, new_root)
        )
    return problems
