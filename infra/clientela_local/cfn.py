"""Reading CloudFormation templates as plain data.

The templates in infra/ are YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
`!Sub`, ...). PyYAML's safe loader rejects unknown tags, so this loader turns each tag into the
long form (`{"Fn::GetAtt": [...]}`), which is also what Chalice, moto and cfn-lint understand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

Template = dict[str, Any]

# `!Ref` and `!Condition` keep their name; every other short tag is an `Fn::` function.
_UNPREFIXED_TAGS = {"Ref", "Condition"}


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that also accepts CloudFormation short-form tags."""


def _construct_short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix if tag_suffix in _UNPREFIXED_TAGS else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            # `!GetAtt Resource.Attribute` is the short spelling of a two-item list.
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_short_form)


def loads(text: str) -> Template:
    """Parses template text (YAML or JSON, JSON being a subset of YAML)."""
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("a CloudFormation template must be a mapping")
    return data


def load(path: Path | str) -> Template:
    """Reads one template file."""
    return loads(Path(path).read_text(encoding="utf-8"))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merges `override` into a copy of `base` the way `chalice package --merge-template` does.

    Mappings merge key by key; any other value (lists included) in `override` replaces the one
    in `base`.
    """
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def references(node: Any) -> Iterator[str]:
    """Yields the logical ids a template fragment refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`).

    Pseudo parameters (`AWS::Region`, ...) are not logical ids and are left out.
    """
    return (name for name in _all_references(node) if not name.startswith("AWS::"))


def _all_references(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
            elif key == "Fn::Sub" and isinstance(value, list):
                text, variables = value
                yield from (name for name in _sub_names(text) if name not in variables)
                yield from _all_references(variables)
            elif key == "Fn::Sub":
                yield from _sub_names(value)
            else:
                yield from _all_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _all_references(item)


def _sub_names(text: str) -> Iterator[str]:
    for match in re.finditer(r"\$\{([^}]+)\}", text):
        name = match.group(1)
        if not name.startswith("!"):  # `${!Literal}` is an escaped dollar, not a reference
            yield name.split(".", 1)[0]
