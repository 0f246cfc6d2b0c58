"""Griffe extensions for the API reference (mkdocstrings loads them, see mkdocs.yml).

``Fields``: the commands, results, events and rows are attrs classes and msgspec structs,
whose ``__init__`` is generated at import time, so static analysis finds no signature. This
extension imports each such class and gives it the ``__init__`` Python builds (the fields
in order, keyword-only marks, defaults, factories), with each field's annotation as
written in the source; a field's own entry shows its type and default.

``SphinxRoles``: the docstrings cross-reference with Sphinx roles (:class:`X`,
:func:`~pkg.mod.f`, :meth:`Ledger.submit`, ...), which Markdown would print as text. This
extension resolves each role's target to the object's full path (the docstring's own
scope first, as Python would, then the one object of that name in the packages) and
writes an optional cross-reference: a link where the object has an entry in the
reference, its name as code where it has none.
"""

from __future__ import annotations

import enum
import html
import importlib
import inspect
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import attrs
import msgspec
from griffe import (
    Alias,
    AliasResolutionError,
    Attribute,
    Class,
    CyclicAliasError,
    Docstring,
    Expr,
    Extension,
    Function,
    GriffeLoader,
    Module,
    NameResolutionError,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
)

log = logging.getLogger("mkdocs.plugins.griffe_reference")

_KINDS = {
    "POSITIONAL_ONLY": ParameterKind.positional_only,
    "POSITIONAL_OR_KEYWORD": ParameterKind.positional_or_keyword,
    "VAR_POSITIONAL": ParameterKind.var_positional,
    "KEYWORD_ONLY": ParameterKind.keyword_only,
    "VAR_KEYWORD": ParameterKind.var_keyword,
}


def _objects(obj: Object) -> Iterator[Object]:
    """``obj`` and every object defined inside it (aliases, i.e. imports, left out)."""
    yield obj
    for member in list(obj.members.values()):
        if not isinstance(member, Alias):
            yield from _objects(member)


# --- fields -------------------------------------------------------------------------------


def _runtime(cls: Class) -> type | None:
    """The class ``cls`` describes, imported; None for a class nested in a function."""
    target: Any = importlib.import_module(cls.module.path)
    for part in cls.path[len(cls.module.path) + 1 :].split("."):
        target = getattr(target, part, None)
    return target if isinstance(target, type) else None


def _defaults(runtime: type) -> dict[str, str]:
    """Each field's default as source text, by its ``__init__`` name (factories as calls)."""
    shown: dict[str, str] = {}
    if attrs.has(runtime):
        for field in attrs.fields(runtime):
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                shown[field.alias] = _name(field.default.factory)
            elif field.default is not attrs.NOTHING:
                shown[field.alias] = _value(field.default)
    else:
        for info in msgspec.structs.fields(runtime):
            if info.default_factory is not msgspec.NODEFAULT:
                shown[info.name] = _name(info.default_factory)
            elif info.default is not msgspec.NODEFAULT:
                shown[info.name] = _value(info.default)
    return shown


def _name(factory: Any) -> str:
    """A factory as the call that makes the default; ``...`` for a lambda."""
    name = str(getattr(factory, "__qualname__", None) or repr(factory))
    return "..." if "<lambda>" in name else f"{name}()"


def _value(default: object) -> str:
    """A default as source text: an enum member by its name, not its repr; a str in
    double quotes, as the formatted signatures write it."""
    if isinstance(default, enum.Enum):
        return f"{type(default).__name__}.{default.name}"
    if type(default) is str and "'" not in default and '"' not in default:
        return f'"{repr(default)[1:-1]}"'
    return repr(default)


def _is_struct(runtime: type) -> bool:
    return issubclass(runtime, msgspec.Struct) and runtime is not msgspec.Struct


def _field(cls: Class, name: str) -> Attribute | None:
    """The attribute ``name`` of ``cls`` or of a base class (where it was declared)."""
    member = cls.all_members.get(name)
    try:
        target = member.final_target if isinstance(member, Alias) else member
    except (AliasResolutionError, CyclicAliasError):
        return None
    return target if isinstance(target, Attribute) else None


def _add_init(cls: Class) -> None:
    """Give an attrs class or msgspec struct the ``__init__`` Python generated for it."""
    try:
        runtime = _runtime(cls)
    except Exception as error:  # any failure to import: the entry cannot be right
        log.warning("%s: cannot import it to read its fields: %r", cls.path, error)
        return
    if runtime is None or not (attrs.has(runtime) or _is_struct(runtime)):
        return
    signature = inspect.signature(runtime)
    defaults = _defaults(runtime)
    fields = attrs.fields(runtime) if attrs.has(runtime) else ()
    by_alias = {field.alias: field.name for field in fields}
    parameters = [Parameter("self", kind=ParameterKind.positional_or_keyword)]
    for name, param in signature.parameters.items():
        member = _field(cls, by_alias.get(name, name))
        annotation: str | Expr | None = None
        if member is not None and member.annotation is not None:
            annotation = member.annotation
        elif isinstance(param.annotation, str):
            annotation = param.annotation
        elif param.annotation is not inspect.Parameter.empty:
            annotation = inspect.formatannotation(param.annotation)
        default = defaults.get(name)
        parameters.append(
            Parameter(name, annotation=annotation, kind=_KINDS[param.kind.name], default=default)
        )
        if member is not None and member.parent is cls:
            # the field's own entry: its type and its default, not the `attrs.field(...)` call
            member.value = default
            member.labels.discard("class-attribute")
            member.labels.add("instance-attribute")
    init = Function(
        "__init__",
        lineno=cls.lineno,
        endlineno=cls.lineno,
        parent=cls,
        parameters=Parameters(*parameters),
        returns="None",
    )
    cls.set_member("__init__", init)


class Fields(Extension):
    """Signatures and field entries for attrs classes and msgspec structs."""

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        """Add the generated ``__init__`` to every such class of the package just loaded."""
        for obj in _objects(pkg):
            if not isinstance(obj, Class) or "__init__" in obj.members:
                continue
            if obj.module.name != "__main__":  # a program: importing it would run it
                _add_init(obj)


# --- Sphinx roles -------------------------------------------------------------------------

ROLE = re.compile(
    r":(?:py:)?(?P<role>class|func|meth|data|mod|attr|exc|obj|const):"
    r"`(?P<body>[^`]+)`"
)
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_CALLABLE = {"func", "meth"}


class SphinxRoles(Extension):
    """Sphinx cross-reference roles in docstrings, as optional links to the reference."""

    def __init__(self, packages: list[str] | None = None) -> None:
        """``packages``: the packages whose docstrings may name each other's objects;
        the first of them loaded loads the others, so a name resolves across them."""
        super().__init__()
        self.packages = list(packages or [])
        self._rewritten: set[str] = set()
        self._loading = False

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        """Rewrite the roles of every loaded package, once all of ``packages`` are loaded."""
        collection = loader.modules_collection
        if not self._loading:
            self._loading = True
            try:
                for name in self.packages:
                    if name not in collection.members:
                        loader.load(name, try_relative_path=False)
            finally:
                self._loading = False
        if any(name not in collection.members for name in self.packages):
            return  # a nested load: the outer call rewrites, with every package present
        names = dict.fromkeys([*self.packages, pkg.name])
        loaded = [collection.members[name] for name in names]
        todo = [module for module in loaded if module.path not in self._rewritten]
        if not todo:
            return
        index = _NameIndex(loaded)
        seen: set[int] = set()
        for module in todo:
            self._rewritten.add(module.path)
            for obj in _objects(module):
                docstring = obj.docstring
                if docstring is not None and id(docstring) not in seen:
                    seen.add(id(docstring))
                    _rewrite(docstring, obj, index)


class _NameIndex:
    """Every object of the loaded packages by its last name, to find an unqualified one."""

    def __init__(self, packages: list[Module]) -> None:
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.collection = packages[0].modules_collection
        for package in packages:
            for obj in _objects(package):
                self.by_name[obj.name].append(obj.path)

    def canonical(self, path: str) -> str | None:
        """``path`` as the object's own path (through re-exports), None if there is none."""
        try:
            found = self.collection.get_member(path)
        except (KeyError, ValueError):
            return None
        try:
            return str(found.final_target.path) if isinstance(found, Alias) else str(found.path)
        except (AliasResolutionError, CyclicAliasError):
            return str(found.target_path) if isinstance(found, Alias) else None

    def suffix(self, dotted: str, near: Object) -> str | None:
        """The one object whose path ends with ``dotted`` (in ``near``'s package if the
        packages together hold several)."""
        head = dotted.split(".")[-1]
        hits = [path for path in self.by_name.get(head, []) if path.endswith(f".{dotted}")]
        if len(set(hits)) > 1:
            package = near.path.split(".")[0]
            hits = [path for path in hits if path.split(".")[0] == package]
        return hits[0] if len(set(hits)) == 1 else None


def _resolve(target: str, owner: Object, index: _NameIndex) -> str | None:
    """The full path of the object ``target`` names in ``owner``'s docstring, or None."""
    first, _, rest = target.partition(".")
    scope = owner if isinstance(owner, (Module, Class)) else owner.parent
    if scope is not None:
        try:
            base = scope.resolve(first)
        except NameResolutionError:
            base = None
        if base is not None:
            found = index.canonical(f"{base}.{rest}" if rest else base)
            if found is not None:
                return found
    found = index.canonical(target)
    if found is not None:
        return found
    found = index.suffix(target, owner)
    return index.canonical(found) if found is not None else None


def _rewrite(docstring: Docstring, owner: Object, index: _NameIndex) -> None:
    """Each role of ``docstring`` as an optional cross-reference (or code)."""

    def replace(match: re.Match[str]) -> str:
        role, body = match.group("role"), match.group("body").strip()
        explicit = _EXPLICIT.match(body)
        target = (explicit.group("target") if explicit else body).strip()
        plain = target.startswith("!")
        short = target.startswith("~")
        target = target.lstrip("!~.")
        if explicit and explicit.group("title"):
            title = explicit.group("title")
        else:
            title = target.rsplit(".", 1)[-1] if short else target
            if role in _CALLABLE:
                title += "()"
        code = f"`{title}`"
        if plain:
            return code
        path = _resolve(target, owner, index)
        if path is None:
            log.debug("%s: %s names nothing in the packages: shown as code", owner.path, target)
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    docstring.value = ROLE.sub(replace, docstring.value)
