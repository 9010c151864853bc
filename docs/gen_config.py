"""The configuration reference, generated from the pydantic models in ``serve_app/config.py``
(and the models it embeds: ``deployment_options.py``, ``llm/settings.py``), so that it
cannot drift from the code. Each field's description is the docstring under it.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
import types
import typing
from functools import cache
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


@cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it, for ``cls`` and its model bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        assert isinstance(body, ast.ClassDef)
        for stmt, nxt in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[stmt.target.id] = nxt.value.value
    return docs


def _md(text: str) -> str:
    """A docstring as one markdown line: rst ``code`` to `code`, whitespace collapsed."""
    text = re.sub(r":[a-z]+:`([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    return " ".join(text.split()).replace("|", "\\|")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The config model inside ``X``, ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "null"
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


_BOUNDS = {annotated_types.Gt: ">", annotated_types.Ge: "≥", annotated_types.Lt: "<",
           annotated_types.Le: "≤"}  # fmt: skip


def _constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for kind, sign in _BOUNDS.items():
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, kind.__name__.lower())}")
    return ", ".join(parts)


def _default(field: FieldInfo) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return PydanticUndefined


def _value(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        text = json.dumps(value, ensure_ascii=False)
    except TypeError:
        text = repr(value)
    return f"`{text}`".replace("|", "\\|")


def _anchor(path: str) -> str:
    return "config-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _changed(value: BaseModel, base: BaseModel, prefix: str = "") -> list[str]:
    """Dotted ``key: value`` of the fields where ``value`` differs from the model's defaults."""
    out: list[str] = []
    for name in type(value).model_fields:
        mine, theirs = getattr(value, name), getattr(base, name, None)
        if isinstance(mine, BaseModel) and isinstance(theirs, BaseModel):
            out += _changed(mine, theirs, f"{prefix}{name}.")
        elif mine != theirs:
            out.append(f"{prefix}{name}: {json.dumps(_plain(mine))}")
    return out


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class _Reference:
    """Walks the models depth-first; each model becomes one section with a field table."""

    def __init__(self, shared: tuple[type[BaseModel], ...]) -> None:
        self.shared = shared  # documented once, in their own section
        self.sections: list[str] = []

    def section(self, model: type[BaseModel], path: str, level: int) -> None:
        docs = _attribute_docs(model)
        rows, children = [], []
        for name, field in model.model_fields.items():
            key = f"{path}.{name}" if path else name
            nested = _model_in(field.annotation)
            default = _default(field)
            if nested is not None and nested in self.shared:
                shared_path = _shared_path(nested)
                if isinstance(default, BaseModel) and type(default) is nested:
                    changed = _changed(default, nested())
                    shown = "defaults" + (": `" + "`, `".join(changed) + "`" if changed else "")
                else:
                    shown = _value(default) if default is not PydanticUndefined else "required"
                type_cell = f"[{nested.__name__}](#{_anchor(shared_path)})"
            elif nested is not None:
                sub = f"{key}[]" if typing.get_origin(field.annotation) is list else key
                children.append((nested, sub))
                type_cell = f"[{_type_name(field.annotation)}](#{_anchor(sub)})"
                if isinstance(default, list) and default:
                    shown = f"{len(default)} entries"
                elif isinstance(default, BaseModel):
                    shown = "see below"
                else:
                    shown = "required" if default is PydanticUndefined else _value(default)
            else:
                type_cell = _type_name(field.annotation)
                bounds = _constraints(field)
                if bounds:
                    type_cell += f" ({bounds})"
                shown = "required" if default is PydanticUndefined else _value(default)
            description = docs.get(name) or field.description or ""
            rows.append(f"| `{name}` | {type_cell} | {shown} | {_md(description)} |")
        title = f"`{path}`" if path else "Top level"
        heading = "#" * level
        parts = [f"{heading} {title} {{#{_anchor(path or 'top')}}}", ""]
        if model.__doc__ and model.__doc__ is not BaseModel.__doc__:
            parts += [_md(model.__doc__) + f" (`{model.__module__}.{model.__name__}`)", ""]
        parts += ["| field | type | default | description |", "|---|---|---|---|", *rows]
        self.sections.append("\n".join(parts))
        for child, sub in children:
            self.section(child, sub, level)


def _shared_path(model: type[BaseModel]) -> str:
    from serve_app.deployment_options import (
        AutoscalingOptions,
        DeploymentOptions,
        RayActorOptions,
    )

    return {
        DeploymentOptions: "deployment",
        AutoscalingOptions: "deployment.autoscaling_config",
        RayActorOptions: "deployment.ray_actor_options",
    }.get(model, model.__name__)


def render(heading_level: int = 3) -> str:
    """Markdown: one section per config model, from ``AppConfig`` down, then the deployment
    options every ``deployment:`` block shares."""
    from serve_app.config import AppConfig
    from serve_app.deployment_options import (
        AutoscalingOptions,
        DeploymentOptions,
        RayActorOptions,
    )

    ref = _Reference(shared=(DeploymentOptions, AutoscalingOptions, RayActorOptions))
    ref.section(AppConfig, "", heading_level)
    ref.shared = ()
    ref.section(DeploymentOptions, "deployment", heading_level)
    ref.sections[-1] = ref.sections[-1].replace(
        "\n\n",
        "\n\nEvery `deployment:` block (ingress, chunker, asr, diarizer, retranscriber,"
        " assistant) takes these Serve options; the defaults column above lists what each"
        " section sets differently.\n\n",
        1,
    )
    return "\n\n".join(ref.sections)
