"""The hardened YAML reader for plan files: `yaml.safe_load` under cpflow's limits.

Size-capped, depth-capped (before composing), dates kept as text, aliases and repeated
keys refused. Anything malformed is a PlanFileError naming the file and the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from cpflow.errors import PlanFileError

MAX_FILE_BYTES = 16 * 1024 * 1024
# Plan files nest a handful of levels; libyaml's composer recurses in C and crashes the
# process (SIGSEGV) somewhere past 20,000, so depth is checked before composing.
MAX_DEPTH = 64


class _PlanLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """safe_load with three changes: dates stay text (so `2023-02-30` gets a clear message
    from validation instead of a crash in the parser), aliases are refused (an alias
    bomb expands exponentially; plan files never need them), and so is a key repeated in
    one mapping (YAML would silently keep the last value)."""

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects:
            mark = node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in plan files: write the value out", mark
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node, deep=False):
        seen: dict[tuple, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in seen:
                    first = seen[(key.tag, key.value)] + 1
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key.value!r} appears twice in one mapping (first on line {first})", key.start_mark
                    )
                seen[(key.tag, key.value)] = key.start_mark.line
        return super().construct_mapping(node, deep)


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)


_PlanLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _NodeLoader(yaml.SafeLoader):
    """Composes the node tree only, to find the line of a path after validation failed."""


def read_yaml(data: bytes, source: str) -> Any:
    """Parse bytes of YAML under cpflow's limits; PlanFileError on anything malformed."""
    if len(data) > MAX_FILE_BYTES:
        raise PlanFileError(source, [f"{source}: file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}"])
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(source, [f"{source}: not UTF-8 text (invalid byte at offset {exc.start})"]) from None
    fast = _from_events(content)
    if fast is not _UNSURE:
        return fast
    try:
        _check_depth(content, source)
        return yaml.load(content, Loader=_PlanLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise PlanFileError(source, [f"{source}{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise PlanFileError(source, [f"{source}: invalid YAML: {type(exc).__name__}: {exc}"[:500]]) from None


_UNSURE = object()
_STR = "tag:yaml.org,2002:str"


def _from_events(content: str) -> Any:
    """The document built straight from the parser's events, or _UNSURE.

    What `yaml.load(content, Loader=_PlanLoader)` returns for the plain shape plan files
    have (one document of mappings, sequences and untagged scalars, no anchor, key repeated
    or nesting past MAX_DEPTH), at a third of its cost: libyaml's composer builds a node for
    every value and resolves each scalar's tag through Python before the constructor walks
    the nodes again. Scalars are resolved and constructed by _PlanLoader's own resolver and
    constructors, so every value is the one the full load gives. Anything else (a tag, an
    alias or anchor, a merge key, a repeated key, a key that is not a scalar, a second
    document, a syntax error) returns _UNSURE, and the full load decides, with its message.
    """
    loader = _PlanLoader(content)
    resolvers = loader.yaml_implicit_resolvers
    first_chars = None if None in resolvers or loader.yaml_path_resolvers else frozenset(k for k in resolvers if k)
    constructors = loader.yaml_constructors
    scalar_node = yaml.ScalarNode
    # Each open collection: [container, is-mapping, pending key, seen key (tag, text) pairs].
    stack: list[list] = []
    result: Any = _UNSURE
    documents = 0
    try:
        while (event := loader.get_event()) is not None:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                if event.anchor is not None or event.tag not in (None, "!"):
                    return _UNSURE
                value = event.value
                if not event.implicit[0]:
                    tag = _STR
                elif first_chars is not None and value and value[0] not in first_chars:
                    tag = _STR
                else:
                    tag = loader.resolve(scalar_node, value, event.implicit)
                if tag == _STR:
                    item: Any = value
                elif tag in constructors and tag not in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
                    item = constructors[tag](loader, scalar_node(tag, value))
                else:
                    return _UNSURE
                if stack:
                    top = stack[-1]
                    if top[1]:
                        if top[2] is _UNSURE:
                            if (tag, value) in top[3]:
                                return _UNSURE  # repeated: the full load names it and its line
                            top[3].add((tag, value))
                            top[2] = item
                            continue
                        top[0][top[2]] = item
                        top[2] = _UNSURE
                    else:
                        top[0].append(item)
                else:
                    result = item
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.anchor is not None or event.tag not in (None, "!") or len(stack) >= MAX_DEPTH:
                    return _UNSURE
                if stack and stack[-1][1] and stack[-1][2] is _UNSURE:
                    return _UNSURE  # a mapping or list as a key
                mapping = kind is yaml.MappingStartEvent
                stack.append([{} if mapping else [], mapping, _UNSURE, set()])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()[0]
                if stack:
                    top = stack[-1]
                    if top[1]:
                        top[0][top[2]] = done
                        top[2] = _UNSURE
                    else:
                        top[0].append(done)
                else:
                    result = done
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    return _UNSURE
            elif kind is yaml.AliasEvent:
                return _UNSURE
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return _UNSURE
    finally:
        loader.dispose()
    return None if documents == 0 else result  # no document: None, as yaml.load gives


def _check_depth(content: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading parser events only (the parser keeps
    its own stack, so unlike composing this cannot overflow the C stack)."""
    loader = _PlanLoader(content)
    depth = 0
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, starts):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise PlanFileError(
                        source, [f"{source}:{line}: nested more than {MAX_DEPTH} levels deep; plan files need far fewer"]
                    )
            elif isinstance(event, ends):
                depth -= 1
    finally:
        loader.dispose()


def compose_nodes(data: bytes) -> yaml.Node | None:
    """The node tree of a file already read by read_yaml (for line numbers), or None."""
    try:
        return yaml.compose(data.decode("utf-8-sig"), Loader=_NodeLoader)
    except Exception:  # noqa: BLE001 (line numbers are a courtesy; the messages stand alone)
        return None


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """The line of the deepest part of `loc` found in the node tree (1-based)."""
    line = None
    for part in loc:
        if node is None:
            break
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
