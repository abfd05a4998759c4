"""YAML reading that keeps the line of every value, for error messages that name the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class SourceMap:
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[Path_, int]] = field(default_factory=list)

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its closest ancestor that has one."""
        probe = tuple(path)
        while True:
            if probe in self.lines:
                return self.lines[probe]
            if not probe:
                return None
            probe = probe[:-1]


class YamlError(Exception):
    def __init__(self, line: int | None, ja: str, en: str) -> None:
        super().__init__(ja)
        self.line = line
        self.ja = ja
        self.en = en


_constructor = yaml.SafeLoader(b"")


def _scalar(node: yaml.ScalarNode) -> Any:
    # Timestamps stay strings: the format validates them itself, with a clear message.
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value
    return _constructor.construct_object(node, deep=True)


def _convert(
    node: yaml.Node, path: Path_, source: SourceMap, ancestors: frozenset[int] = frozenset()
) -> Any:
    source.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in ancestors:
            # `a: &x [*x]`: an alias inside its own anchor would recurse forever.
            raise YamlError(
                node.start_mark.line + 1,
                "エイリアス（*）が自分自身を含んでいます。",
                "An alias (*) refers to a node that contains it.",
            )
        ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(
                    key_node.start_mark.line + 1,
                    "キーは文字列にしてください。",
                    "Keys must be strings.",
                )
            key = _scalar(key_node)
            key = str(key) if not isinstance(key, str) else key
            child_path = (*path, key)
            if key in result:
                source.duplicates.append((child_path, key_node.start_mark.line + 1))
            result[key] = _convert(value_node, child_path, source, ancestors)
            source.lines[child_path] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, index), source, ancestors)
            for index, item in enumerate(node.value)
        ]
    return _scalar(node)


def load(text: str) -> tuple[Any, SourceMap]:
    source = SourceMap()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(
            line,
            f"YAMLとして読めません: {exc.problem}",
            f"Not valid YAML: {exc.problem}",
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlError(None, f"YAMLとして読めません: {exc}", f"Not valid YAML: {exc}") from exc
    if node is None:
        return None, source
    return _convert(node, (), source), source
